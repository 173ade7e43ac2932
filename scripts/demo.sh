#!/usr/bin/env bash
# The main job of newgate, shown end to end.
#
# As root: a real group switch. Two throwaway users and groups are created,
# a setuid-root newgate is installed in a temporary folder, and in a private
# mount namespace /etc/newgate/policy, /etc/pam.d/newgate and /dev/log are the
# demo's own (a private rsyslogd writes the audit log to a temporary file).
# Everything is removed at the end; nothing else on the machine changes.
#
# As any user: a tour of the policy engine on examples/policy (check, explain,
# list). Needs only the Rust toolchain; as root it installs libpam0g-dev and
# rsyslog if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

show() {
    printf '\n$ %s\n' "$*"
    "$@" || printf '(exit status %d)\n' "$?"
}

explain_tour() {
    local ctl=target/debug/newgatectl policy=examples/policy
    # Users and groups are hypothetical here: --member-of gives their groups;
    # --host and --at fix the machine and the moment that `on` and `when` see.
    local where=(--policy "$policy" --host web-1)
    local morning=(--at 2026-11-30T10:00) evening=(--at 2026-11-30T19:00)
    show "$ctl" check --no-lookups "$policy"
    show "$ctl" explain "${where[@]}" "${morning[@]}" --user alice --member-of alice,devs --group docker --trace -- /usr/bin/docker ps
    show "$ctl" explain "${where[@]}" "${morning[@]}" --user bob --member-of bob,wheel --group docker
    show "$ctl" explain "${where[@]}" "${morning[@]}" --user dave --member-of dave --group audit
    show "$ctl" explain "${where[@]}" "${evening[@]}" --user dave --member-of dave --group audit
    show "$ctl" list --policy "$policy" --user bob --member-of bob,ops,interns
}

if [ "$(id -u)" -ne 0 ]; then
    need_debian_packages libpam0g-dev
    cargo build --quiet --bin newgatectl
    echo "Not root: touring the policy engine. Run 'sudo bash scripts/demo.sh' to see a real group switch."
    explain_tour
    exit 0
fi

need_debian_packages libpam0g-dev rsyslog
cargo build --quiet --bin newgate --bin newgatectl

demo=$(mktemp -d /var/tmp/newgate-demo.XXXXXX)
chmod 755 "$demo"
alice=ngdemo-alice docker=ngdemo-docker audit=ngdemo-audit
placeholder=""
rsyslog_pid=""
cleanup() {
    [ -n "$rsyslog_pid" ] && kill "$rsyslog_pid" 2>/dev/null || true
    userdel "$alice" 2>/dev/null || true
    groupdel "$docker" 2>/dev/null || true
    groupdel "$audit" 2>/dev/null || true
    [ -n "$placeholder" ] && rm -f /dev/log
    rm -rf "$demo"
}
trap cleanup EXIT
cleanup_leftovers() { userdel "$alice" 2>/dev/null || true; groupdel "$docker" 2>/dev/null || true; groupdel "$audit" 2>/dev/null || true; }
cleanup_leftovers
groupadd "$docker"
groupadd "$audit"
useradd -M -d /nonexistent -s /bin/sh "$alice"

install -o root -g root -m 4755 target/debug/newgate "$demo/newgate"
mkdir -p "$demo/upper/newgate" "$demo/upper/pam.d" "$demo/work"
cat > "$demo/upper/newgate/policy" <<POLICY
# The demo's policy: alice may take the docker group, without a password,
# to run id; never the audit group.
permit nopass $alice as group $docker cmd /usr/bin/id
deny   $alice as group $audit
POLICY
chmod 0440 "$demo/upper/newgate/policy"
install -m 0644 pam/newgate "$demo/upper/pam.d/newgate"

cat > "$demo/rsyslog.conf" <<CONF
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$demo/log.sock")
authpriv.* action(type="omfile" file="$demo/auth.log")
CONF
rsyslogd -n -iNONE -f "$demo/rsyslog.conf" &
rsyslog_pid=$!
for _ in $(seq 50); do [ -S "$demo/log.sock" ] && break; sleep 0.1; done
if [ ! -e /dev/log ]; then placeholder=yes; : > /dev/log; fi

# Inside the namespace: the demo's /etc (an overlay) and /dev/log.
cat > "$demo/inside.sh" <<INSIDE
set -e
mount -t overlay overlay -o lowerdir=/etc,upperdir=$demo/upper,workdir=$demo/work /etc
mount --bind $demo/log.sock /dev/log
as_alice() { setpriv --reuid=$alice --regid=$alice --init-groups -- "\$@"; }
show() { printf '\n\$ %s\n' "\$*"; "\$@" || printf '(exit status %d)\n' "\$?"; }
echo "== The policy (/etc/newgate/policy):"
cat /etc/newgate/policy
echo
echo "== $alice on her own:"
show as_alice id
echo
echo "== $alice switches group through newgate (a setuid-root copy in $demo):"
show as_alice $demo/newgate -g $docker id
show as_alice $demo/newgate -g $audit id
show as_alice $demo/newgate -l
echo
echo "== What the administrator's tool says about the same requests:"
show $PWD/target/debug/newgatectl explain --user $alice --group $docker -- /usr/bin/id
show $PWD/target/debug/newgatectl explain --user $alice --group $audit --trace -- /usr/bin/id
INSIDE
cd /
unshare --mount --propagation private -- /bin/sh "$demo/inside.sh"
sleep 0.3
echo
echo "== The audit trail (authpriv, as rsyslog wrote it):"
cat "$demo/auth.log" 2>/dev/null || echo "(no audit lines arrived)"
cd - >/dev/null
echo
echo "== And the policy engine on a larger example:"
explain_tour
