#!/usr/bin/env bash
# newgate beside doas, sudo and sudo-rs (issue 11): the same request, a
# `nopass` rule for a real user, run through `setpriv --reuid U --regid U
# --init-groups`, timed by hyperfine, with a small policy and with 100,000
# rules; prints a markdown table and the ratios of the issue's goals.
#
# Run as root from the repository:  sudo bash scripts/bench-peers.sh
#
# It is a benchmark, not a test: it fails only when a tool cannot run the
# request at all, never because something is slow.
#
# Nothing of the machine's own configuration changes: /etc is an overlay in a
# private mount namespace (its newgate/, doas.conf, sudoers and
# pam.d/newgate are the run's), and so is /dev, where a listener stands in
# for the system log at /dev/log. Outside the namespace the run adds one user
# (`ngb-bench`, with its group), removed at the end, and installs what is
# missing: hyperfine, opendoas and sudo with apt, sudo-rs with `cargo install`
# into /var/cache/newgate-bench (its column is left out, saying so, when that
# fails). It holds /run/newgate-root-suites.lock for the whole run, the lock
# the root test suites hold, so that no suite runs beside the benchmark.
#
# Settings (environment):
#   NEWGATE_BENCH_RUNS        runs per tool with the small policy (default 300)
#   NEWGATE_BENCH_ROUNDS      rounds they are split into (default 60)
#   NEWGATE_BENCH_LARGE_RUNS  runs per tool with the large one (default 5)
#   NEWGATE_BENCH_RULES       rules in the large policies (default 100000)
#   NEWGATE_BENCH_NEWGATE     a newgate binary to measure instead of building
#                             this tree's release (`cargo build --release -p newgate
#                             -p pam_newgate`); newgatectl and libpam_newgate.so
#                             are taken from beside it
#
# newgate is timed with and without the compiled snapshot (the small policy
# in the same rounds as the peers: an installed policy has one, postinst and
# every save write it), and pam_newgate through pamtester's account stage
# (`pamtester -I ruser=U SERVICE root acct_mgmt`, the module alone in the
# service's stack) beside the same pamtester run with pam_permit.so.
set -euo pipefail

RUNS=${NEWGATE_BENCH_RUNS:-300}
ROUNDS=${NEWGATE_BENCH_ROUNDS:-60}
LARGE_RUNS=${NEWGATE_BENCH_LARGE_RUNS:-5}
RULES=${NEWGATE_BENCH_RULES:-100000}
USER_NAME=ngb-bench
CACHE=/var/cache/newgate-bench
REPO=$(cd "$(dirname "$0")/.." && pwd)

say() { printf 'bench-peers: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (it creates a user and a mount namespace): sudo bash $0"

exec 9>/run/newgate-root-suites.lock
if ! flock -n 9; then
    say "waiting for /run/newgate-root-suites.lock (a root test suite is running)"
    flock 9
fi

# --- what the run needs --------------------------------------------------
missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
[ -x /usr/bin/doas ] || missing+=(opendoas)
[ -x /usr/bin/sudo ] || missing+=(sudo)
command -v jq >/dev/null || missing+=(jq)
[ -x /usr/bin/python3 ] || missing+=(python3)
[ -x /usr/bin/pamtester ] || missing+=(pamtester)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

SUDO_RS=$CACHE/sudo-rs/bin/sudo
if [ ! -x "$SUDO_RS" ]; then
    say "building sudo-rs with cargo install (once, into $CACHE/sudo-rs)"
    mkdir -p "$CACHE"
    if ! cargo install --locked --quiet --root "$CACHE/sudo-rs" sudo-rs >&2; then
        say "cargo install sudo-rs failed: its column is left out"
    fi
fi
[ -x "$SUDO_RS" ] || SUDO_RS=

if [ -n "${NEWGATE_BENCH_NEWGATE:-}" ]; then
    NEWGATE=$NEWGATE_BENCH_NEWGATE
else
    say "building newgate (cargo build --release -p newgate -p pam_newgate)"
    (cd "$REPO" && cargo build --release --quiet -p newgate -p pam_newgate)
    NEWGATE=${CARGO_TARGET_DIR:-$REPO/target}/release/newgate
fi
[ -x "$NEWGATE" ] || die "no newgate at $NEWGATE"

# newgatectl compile writes the snapshot the 100,000-rule run reads.
NEWGATECTL=$(dirname "$NEWGATE")/newgatectl
[ -x "$NEWGATECTL" ] || {
    say "no newgatectl beside $NEWGATE: the runs with a compiled snapshot are left out"
    NEWGATECTL=
}
MODULE=$(dirname "$NEWGATE")/libpam_newgate.so
[ -f "$MODULE" ] || {
    say "no libpam_newgate.so beside $NEWGATE: pam_newgate's runs are left out"
    MODULE=
}

# --- the user, the work folder, and cleaning up --------------------------
DIR=$(mktemp -d /tmp/ngb-bench.XXXXXX)
cleanup() {
    userdel "$USER_NAME" 2>/dev/null || true
    groupdel "$USER_NAME" 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT
# A run that was killed left its user behind.
userdel "$USER_NAME" 2>/dev/null || true
groupdel "$USER_NAME" 2>/dev/null || true
useradd --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$USER_NAME"

chmod 0755 "$DIR"
mkdir -p "$DIR"/{etc,work,dev-upper,dev-work,bin,small,large}
mkdir -p "$DIR"/etc/newgate "$DIR"/etc/pam.d
chmod 0755 "$DIR"/etc "$DIR"/etc/newgate "$DIR"/etc/pam.d

# The same PAM stack for newgate and doas: doas's own.
cp /etc/pam.d/doas "$DIR"/etc/pam.d/newgate
# pamtester's services: the module alone, and pam_permit alone for the
# cost of pamtester and PAM themselves.
if [ -n "$MODULE" ]; then
    install -o root -g root -m 0644 "$MODULE" "$DIR/pam_newgate.so"
    echo "account required $DIR/pam_newgate.so" >"$DIR/etc/pam.d/ngb-pam-newgate"
    echo "account required pam_permit.so" >"$DIR/etc/pam.d/ngb-pam-permit"
fi

# The small policies: the user's one rule (and root's usual line for sudo).
cat >"$DIR/small/policy" <<EOF
permit nopass $USER_NAME as user root
EOF
cat >"$DIR/small/doas.conf" <<EOF
permit nopass $USER_NAME as root
EOF
cat >"$DIR/small/sudoers" <<EOF
Defaults env_reset
Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
root ALL=(ALL:ALL) ALL
$USER_NAME ALL=(root) NOPASSWD: ALL
EOF

# The large policies: the same RULES-1 rules for other users and groups in
# each tool's language (a quarter each: a user's command, a group's command
# with arguments, a deny, a rule with a password), then the user's rule.
awk -v n="$RULES" -v user="$USER_NAME" -v dir="$DIR/large" 'BEGIN {
    p = dir "/policy"; d = dir "/doas.conf"; s = dir "/sudoers"
    print "Defaults env_reset" > s
    print "Defaults secure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"" > s
    print "root ALL=(ALL:ALL) ALL" > s
    for (i = 1; i < n; i++) {
        tool = "/usr/bin/tool" (i % 97)
        kind = i % 4
        if (kind == 0) {
            print "permit nopass ngb-u" i " as user root cmd " tool > p
            print "permit nopass ngb-u" i " as root cmd " tool > d
            print "ngb-u" i " ALL=(root) NOPASSWD: " tool > s
        } else if (kind == 1) {
            print "permit nopass %ngb-g" i " as user root cmd " tool " args start" > p
            print "permit nopass :ngb-g" i " as root cmd " tool " args start" > d
            print "%ngb-g" i " ALL=(root) NOPASSWD: " tool " start" > s
        } else if (kind == 2) {
            print "deny ngb-u" i " as user root cmd /usr/sbin/reboot" > p
            print "deny ngb-u" i " as root cmd /usr/sbin/reboot" > d
            print "ngb-u" i " ALL=(root) !/usr/sbin/reboot" > s
        } else {
            print "permit ngb-u" i " as user postgres cmd /usr/bin/psql args -d db" i > p
            print "permit ngb-u" i " as postgres cmd /usr/bin/psql args -d db" i > d
            print "ngb-u" i " ALL=(postgres) /usr/bin/psql -d db" i > s
        }
    }
    print "permit nopass " user " as user root" > p
    print "permit nopass " user " as root" > d
    print user " ALL=(root) NOPASSWD: ALL" > s
}'

chmod 0440 "$DIR"/small/* "$DIR"/large/*
chmod 0400 "$DIR"/small/doas.conf "$DIR"/large/doas.conf
cp "$DIR/small/policy" "$DIR/etc/newgate/policy"
cp "$DIR/small/doas.conf" "$DIR/etc/doas.conf"
cp "$DIR/small/sudoers" "$DIR/etc/sudoers"
chmod 0440 "$DIR/etc/newgate/policy" "$DIR/etc/sudoers"
chmod 0400 "$DIR/etc/doas.conf"

# --- the run, in a private mount namespace -------------------------------
export DIR NEWGATE NEWGATECTL MODULE SUDO_RS RUNS ROUNDS LARGE_RUNS RULES USER_NAME
unshare --mount --propagation private -- bash -euo pipefail <<'INSIDE'
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$DIR/etc,workdir=$DIR/work" /etc
# The snapshot of the machine's own policy is neither read nor replaced.
mkdir -p /var/cache/newgate
mount -t tmpfs -o mode=0755 tmpfs /var/cache/newgate
# /dev with a system log of its own: newgate, doas and sudo all log each run.
mount -t overlay overlay -o "lowerdir=/dev,upperdir=$DIR/dev-upper,workdir=$DIR/dev-work" /dev
/usr/bin/python3 -c '
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
print("ready", flush=True)
while True:
    s.recv(65536)
' >"$DIR/log-ready" &
LISTENER=$!
trap 'kill $LISTENER 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q ready "$DIR/log-ready" && break; sleep 0.1; done

# The setuid copies live on a tmpfs of the namespace (setuid works there).
mount -t tmpfs -o mode=0755 tmpfs "$DIR/bin"
install -o root -g root -m 4755 "$NEWGATE" "$DIR/bin/newgate"
[ -z "$SUDO_RS" ] || install -o root -g root -m 4755 "$SUDO_RS" "$DIR/bin/sudo-rs"

AS="setpriv --reuid $USER_NAME --regid $USER_NAME --init-groups"
names=(bare newgate doas)
commands=("$AS /bin/true" "$AS $DIR/bin/newgate -n /bin/true" "$AS /usr/bin/doas -n /bin/true")
if [ -n "$SUDO_RS" ]; then
    names+=(sudo-rs)
    commands+=("$AS $DIR/bin/sudo-rs -n /bin/true")
fi
names+=(sudo)
commands+=("$AS /usr/bin/sudo -n /bin/true")

# Each tool must do what is asked before it is timed.
check() {
    local i
    for i in "${!commands[@]}"; do
        if ! out=$(env -i PATH=/usr/bin:/bin ${commands[$i]} 2>&1) || [ -n "$out" ]; then
            echo "bench-peers: ${names[$i]} did not just run /bin/true: ${commands[$i]}: $out" >&2
            exit 1
        fi
    done
}

# hyperfine with each command named; its JSON goes to $1, its report (style $5) to stderr.
time_all() {
    local json=$1 runs=$2 warmup=$3 first=$4 style=$5 i
    local args=(-N --style "$style" --warmup "$warmup" --runs "$runs" --export-json "$json")
    for ((i = first; i < ${#commands[@]}; i++)); do
        args+=(-n "${names[$i]}" "${commands[$i]}")
    done
    # Ahead of the usual (niced) background work; PAM's pam_limits may set
    # the tools back to nice 0 in their session, as it would for anyone.
    env -i PATH=/usr/bin:/bin nice -n -10 hyperfine "${args[@]}" >&2
}

# newgate reading the compiled snapshot, as an installed policy is read.
with_snapshot() {
    names=(newgate-snapshot)
    commands=("$AS $DIR/bin/newgate -n /bin/true")
}
peers=("${names[@]}")
peer_commands=("${commands[@]}")
peers_again() {
    names=("${peers[@]}")
    commands=("${peer_commands[@]}")
}

# pamtester's account stage for the user's switch to root, with pam_newgate
# alone in the stack, and with pam_permit alone (pamtester and PAM's cost).
PAMTESTER="/usr/bin/pamtester -I ruser=$USER_NAME"
pam_check() {
    local out
    if ! out=$(env -i PATH=/usr/bin:/bin $PAMTESTER "$1" root acct_mgmt 2>&1) ||
        [ "$out" != "pamtester: account management done." ]; then
        echo "bench-peers: pamtester through $1 did not permit: $out" >&2
        exit 1
    fi
}
# $1 the JSON file, $2 runs, then the names of the runs: pam-permit,
# pam-newgate (no snapshot), pam-newgate-snapshot.
time_pam() {
    local json=$1 runs=$2 name
    shift 2
    local args=(-N --style basic --warmup 2 --runs "$runs" --export-json "$json")
    for name in "$@"; do
        case $name in
        pam-permit) pam_check ngb-pam-permit; args+=(-n "$name" "$PAMTESTER ngb-pam-permit root acct_mgmt") ;;
        pam-newgate) pam_check ngb-pam-newgate; args+=(-n "$name" "$PAMTESTER ngb-pam-newgate root acct_mgmt") ;;
        pam-newgate-snapshot)
            "$NEWGATECTL" compile >/dev/null
            "$NEWGATECTL" compile --status >/dev/null
            pam_check ngb-pam-newgate
            args+=(-n "$name" "$PAMTESTER ngb-pam-newgate root acct_mgmt")
            ;;
        esac
    done
    env -i PATH=/usr/bin:/bin nice -n -10 hyperfine "${args[@]}" >&2
    rm -f /var/cache/newgate/policy.snapshot
}

# hyperfine times one command after the other: on a shared machine a burst
# of other work (seconds of a compiler) would land on one tool. Many short
# rounds of all the tools spread it over all of them; in each, newgate runs
# once more with the snapshot written for that round and removed after it.
echo "bench-peers: small policy, $RUNS runs each in $ROUNDS rounds" >&2
check
for ((round = 1; round <= ROUNDS; round++)); do
    time_all "$DIR/small-$round.json" $((RUNS / ROUNDS)) 1 0 none
    if [ -n "$NEWGATECTL" ]; then
        "$NEWGATECTL" compile >/dev/null
        "$NEWGATECTL" compile --status >/dev/null
        with_snapshot
        check
        time_all "$DIR/small-snapshot-$round.json" $((RUNS / ROUNDS)) 1 0 none
        rm /var/cache/newgate/policy.snapshot
        peers_again
    fi
    printf '.' >&2
done
echo >&2
if [ -n "$MODULE" ]; then
    echo "bench-peers: pam_newgate, small policy" >&2
    if [ -n "$NEWGATECTL" ]; then
        time_pam "$DIR/pam-small.json" 100 pam-permit pam-newgate
        time_pam "$DIR/pam-small-snapshot.json" 100 pam-newgate-snapshot
    else
        time_pam "$DIR/pam-small.json" 100 pam-permit pam-newgate
    fi
fi

mount --bind "$DIR/large/policy" /etc/newgate/policy
mount --bind "$DIR/large/doas.conf" /etc/doas.conf
mount --bind "$DIR/large/sudoers" /etc/sudoers
echo "bench-peers: $RULES rules, $LARGE_RUNS runs each" >&2
check
time_all "$DIR/large.json" "$LARGE_RUNS" 1 1 basic

if [ -n "$MODULE" ]; then
    echo "bench-peers: pam_newgate, $RULES rules" >&2
    time_pam "$DIR/pam-large.json" "$LARGE_RUNS" pam-newgate
fi

# newgate again, reading the compiled snapshot instead of the 100,000 rules.
if [ -n "$NEWGATECTL" ]; then
    "$NEWGATECTL" compile >&2
    "$NEWGATECTL" compile --status >&2
    with_snapshot
    check
    time_all "$DIR/snapshot.json" "$((LARGE_RUNS * 6))" 2 0 basic
    [ -z "$MODULE" ] || time_pam "$DIR/pam-large-snapshot.json" "$((LARGE_RUNS * 6))" pam-newgate-snapshot
fi
INSIDE

# --- the table -----------------------------------------------------------
# The median of every run of the tool named $1 in the JSON files that follow.
median() {
    local name=$1
    shift
    jq -s -r --arg n "$name" '[.[].results[] | select(.command == $n) | .times[]] | sort
        | if length == 0 then empty elif length % 2 == 1 then .[length / 2 | floor]
          else (.[length / 2 - 1] + .[length / 2]) / 2 end' "$@"
}
thousands() { sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|[^0-9]\)/\1,\2\3/' -e 'ta'; }
ms() {
    if [ -z "$1" ]; then
        printf '—'
    else
        awk -v s="$1" 'BEGIN { m = s * 1000; if (m >= 100) printf "%d ms", m + 0.5; else printf "%.2f ms", m }' | thousands
    fi
}
# The mean CPU time (user + system, the tool and what it starts) of the tool named $1.
cpu() {
    local name=$1
    shift
    jq -s -r --arg n "$name" '[.[].results[] | select(.command == $n) | .user + .system]
        | if length == 0 then empty else add / length end' "$@"
}
bare=$(median bare "$DIR"/small-[0-9]*.json)
declare -A small large
for tool in newgate doas sudo-rs sudo; do
    small[$tool]=$(median "$tool" "$DIR"/small-[0-9]*.json)
    large[$tool]=$(median "$tool" "$DIR/large.json")
done

doas_version=$(dpkg-query -W -f '${Version}' opendoas 2>/dev/null || echo '?')
sudo_version=$(sudo -V | awk 'NR == 1 { print $3 }')
sudo_rs_version=${SUDO_RS:+$("$SUDO_RS" -V 2>/dev/null | awk 'NR == 1 { print $NF }')}
if [ -n "${NEWGATE_BENCH_NEWGATE:-}" ]; then
    measured="$NEWGATE"
else
    measured=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')
    [ -z "$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null)" ] ||
        measured="$measured (with uncommitted changes)"
fi

echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), newgate $measured; medians of $RUNS runs in $ROUNDS rounds (small), $LARGE_RUNS runs ($RULES rules)"
echo
sudo_rs_head="sudo-rs ${sudo_rs_version:-(not built)}"
echo "| work | bare (\`setpriv /bin/true\`) | newgate | doas $doas_version | $sudo_rs_head | sudo $sudo_version |"
echo "|---|---|---|---|---|---|"
echo "| small policy, \`-n /bin/true\` | $(ms "$bare") | $(ms "${small[newgate]}") | $(ms "${small[doas]}") | $(ms "${small[sudo-rs]}") | $(ms "${small[sudo]}") |"
printf '| %s rules, `-n /bin/true` | | %s | %s | %s | %s |\n' "$(echo "$RULES" | thousands)" \
    "$(ms "${large[newgate]}")" "$(ms "${large[doas]}")" "$(ms "${large[sudo-rs]}")" "$(ms "${large[sudo]}")"
snapshot= small_snapshot=
if compgen -G "$DIR/small-snapshot-*.json" >/dev/null; then
    small_snapshot=$(median newgate-snapshot "$DIR"/small-snapshot-*.json)
    printf '| small policy, compiled snapshot (as installed) | | %s | | | |\n' "$(ms "$small_snapshot")"
fi
if [ -f "$DIR/snapshot.json" ]; then
    snapshot=$(median newgate-snapshot "$DIR/snapshot.json")
    printf '| %s rules, compiled snapshot (`newgatectl compile`) | | %s | | | |\n' "$(echo "$RULES" | thousands)" "$(ms "$snapshot")"
fi
echo
awk -v b="$bare" -v n="${small[newgate]}" -v d="${small[doas]}" -v ln="${large[newgate]}" -v ls="${large[sudo]}" -v rules="$RULES" 'BEGIN {
    own = n - b; doas = d - b
    printf "- newgate'"'"'s own cost (newgate − bare): %.2f ms; doas'"'"'s: %.2f ms; ratio %.2f (goal 1: below 1.0, aim 0.5)\n", own * 1000, doas * 1000, own / doas
    printf "- newgate ÷ sudo at %d rules: %.3f\n", rules, ln / ls
}'
[ -z "$small_snapshot" ] || awk -v b="$bare" -v n="$small_snapshot" -v d="${small[doas]}" 'BEGIN {
    printf "- with the compiled snapshot, as installed: newgate'"'"'s own cost %.2f ms, ratio to doas'"'"'s %.2f\n", (n - b) * 1000, (n - b) / (d - b)
}'
[ -z "$snapshot" ] || awk -v s="$snapshot" -v ls="${large[sudo]}" -v rules="$RULES" 'BEGIN {
    printf "- newgate with the snapshot at %d rules: %.1f ms, ÷ sudo %.3f (goal 3: under 30 ms, 10 times faster than sudo)\n", rules, s * 1000, s / ls
}'
cpu_line="- CPU time with the small policy (user + system, mean), less disturbed by other work than the elapsed time:"
for tool in bare newgate doas sudo-rs sudo; do
    t=$(cpu "$tool" "$DIR"/small-[0-9]*.json)
    [ -z "$t" ] || cpu_line="$cpu_line $tool $(ms "$t"),"
done
echo "${cpu_line%,}"
[ -n "$SUDO_RS" ] || echo "- sudo-rs: left out, \`cargo install sudo-rs\` did not work here"

if [ -f "$DIR/pam-small.json" ]; then
    pam_permit=$(median pam-permit "$DIR/pam-small.json")
    pam_small=$(median pam-newgate "$DIR/pam-small.json")
    pam_small_snapshot=$(median pam-newgate-snapshot "$DIR"/pam-small-snapshot.json 2>/dev/null || true)
    pam_large=$(median pam-newgate "$DIR/pam-large.json")
    pam_large_snapshot=$(median pam-newgate-snapshot "$DIR"/pam-large-snapshot.json 2>/dev/null || true)
    echo
    echo "pam_newgate: \`pamtester -I ruser=U SERVICE root acct_mgmt\` as root, the module alone in the service's account stack; medians of 100 runs (small), $LARGE_RUNS and $((LARGE_RUNS * 6)) runs ($RULES rules, without and with the snapshot)"
    echo
    echo "| policy | pamtester with pam_permit.so | with pam_newgate.so | with pam_newgate.so, compiled snapshot |"
    echo "|---|---|---|---|"
    echo "| small | $(ms "$pam_permit") | $(ms "$pam_small") | $(ms "$pam_small_snapshot") |"
    printf '| %s rules | | %s | %s |\n' "$(echo "$RULES" | thousands)" "$(ms "$pam_large")" "$(ms "$pam_large_snapshot")"
    echo
    [ -z "$pam_large_snapshot" ] || awk -v s="$pam_large_snapshot" -v p="$pam_permit" -v rules="$RULES" 'BEGIN {
        printf "- pam_newgate at %d rules with the snapshot: %.1f ms end to end, %.1f ms more than pam_permit (goal 3: under 30 ms)\n", rules, s * 1000, (s - p) * 1000
    }'
fi
