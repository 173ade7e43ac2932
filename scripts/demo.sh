#!/usr/bin/env bash
# A tour of newgate's policy engine on examples/policy: check the policy,
# explain a permit with its trace, a denial, a time window, and list what a
# user may do. Needs only the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --release --bin newgatectl
ctl=target/release/newgatectl
policy=examples/policy

show() {
    printf '\n$ newgatectl %s\n' "$*"
    "$ctl" "$@" || printf '(exit status %d)\n' "$?"
}

# Users and groups are hypothetical here, so --member-of gives their groups;
# --host and --at fix the machine and the moment that `on` and `when` see.
where=(--policy "$policy" --host web-1 --at 2026-11-30T10:00)

show check --no-lookups "$policy"
show explain "${where[@]}" --user alice --member-of alice,devs --group docker --trace -- /usr/bin/docker ps
show explain "${where[@]}" --user bob --member-of bob,wheel --group docker
show explain "${where[@]}" --user dave --member-of dave --group audit
show explain "${where[@]}" --at 2026-11-30T19:00 --user dave --member-of dave --group audit
show list --policy "$policy" --user bob --member-of bob,ops,interns
