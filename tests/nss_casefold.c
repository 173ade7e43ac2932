/* An NSS module for one test: it answers a user name in any case with the
 * /etc/passwd entry of that name in lower case, as a directory that matches
 * names without regard to case does (LDAP, SSSD set up so). */
#include <ctype.h>
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

enum nss_status _nss_casefold_getpwnam_r(const char *name, struct passwd *pwd, char *buffer, size_t buflen,
                                         int *errnop)
{
    char folded[256];
    size_t n = strlen(name);
    if (n >= sizeof folded)
        return NSS_STATUS_NOTFOUND;
    for (size_t i = 0; i <= n; i++)
        folded[i] = (char)tolower((unsigned char)name[i]);
    FILE *f = fopen("/etc/passwd", "re");
    if (!f) {
        *errnop = errno;
        return NSS_STATUS_UNAVAIL;
    }
    struct passwd *found = NULL;
    enum nss_status status = NSS_STATUS_NOTFOUND;
    while (fgetpwent_r(f, pwd, buffer, buflen, &found) == 0) {
        if (strcmp(found->pw_name, folded) == 0) {
            status = NSS_STATUS_SUCCESS;
            break;
        }
    }
    fclose(f);
    return status;
}
