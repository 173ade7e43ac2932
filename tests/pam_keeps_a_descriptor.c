/* A PAM module for one test: its account stage opens /etc/shadow without
 * close-on-exec and keeps it open, as a module that caches a descriptor (a
 * file, a socket to a privileged daemon) may. */
#include <fcntl.h>
#include <security/pam_modules.h>

int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    (void)pamh;
    (void)flags;
    (void)argc;
    (void)argv;
    return open("/etc/shadow", O_RDONLY) >= 0 ? PAM_SUCCESS : PAM_SYSTEM_ERR;
}
