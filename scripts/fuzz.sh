#!/usr/bin/env bash
# Fuzzes newgate: builds the cargo-fuzz targets in fuzz/ (the policy crate,
# the PAM hand-off, the audit line writer, the sudoers and doas.conf
# importers) and runs each for SECONDS (default 60), or only the TARGETs named. Prints, per
# target, the executions, the coverage and whether it crashed; exits 1 if
# any target crashed. Needs a nightly toolchain (`cargo +nightly`): without
# one it says so and exits 0. Installs cargo-fuzz when it is missing.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# FUZZ_MAX_RUNS=N stops a target after N executions, if that comes first.
# FUZZ_NO_TRACE_COMPARES=1 builds the targets without libFuzzer's tracing of
# comparisons (into fuzz/target-no-cmp): about twice the executions a second,
# but no guidance towards the values the code compares with. Meant for long
# runs once the corpus has grown in runs with the tracing; the dictionaries still
# give the keywords.
#
# The corpus grows in fuzz/corpus/TARGET (kept between runs, not in git);
# seeds are copied afresh from examples/, policy/tests/golden/ and
# tests/import/ into fuzz/seeds/TARGET; crashing inputs land in fuzz/artifacts/TARGET/, the
# fuzzer's output in fuzz/logs/TARGET.log. docs/security.md says more.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
    exit 2
fi
shift $(($# > 0 ? 1 : 0))
all_targets=(policy_load policy_format policy_tests handoff audit_line import_sudoers import_doas)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $t "* ]] || {
        echo "unknown target $t; the targets are: ${all_targets[*]}" >&2
        exit 2
    }
done

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: skipped: no nightly Rust toolchain (\`cargo +nightly\` fails); install one with: rustup toolchain install nightly"
    exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

# Release code with debug assertions, so that an arithmetic overflow is a
# crash as well. No sanitizer: the code fuzzed forbids unsafe code, and
# without one the fuzzer runs about twice as fast.
echo "==> building the fuzz targets"
build=(--sanitizer none --debug-assertions)
target_dir=fuzz/target
if [ "${FUZZ_NO_TRACE_COMPARES:-}" = 1 ]; then
    build+=(--no-trace-compares --target-dir fuzz/target-no-cmp)
    target_dir=fuzz/target-no-cmp
    echo "    without the tracing of comparisons (FUZZ_NO_TRACE_COMPARES=1)"
fi
cargo +nightly fuzz build "${build[@]}"
bin_dir=$target_dir/$(rustc +nightly -vV | sed -n 's/^host: //p')/release

seeds() {
    local target=$1 dir=fuzz/seeds/$1 f
    rm -rf "$dir"
    mkdir -p "$dir"
    case $target in
    policy_load | policy_format)
        cp examples/policy "$dir/examples-policy"
        for f in examples/policy.d/* policy/tests/golden/*.policy policy/tests/golden/includes/*; do
            if [ -f "$f" ]; then cp "$f" "$dir/$(echo "$f" | tr / -)"; fi
        done
        ;;
    policy_tests)
        cp examples/policy.tests "$dir/examples-policy.tests"
        cp examples/policy "$dir/examples-policy"
        ;;
    handoff)
        printf '' >"$dir/empty"
        printf 'ps -a' >"$dir/words"
        printf '%% a%%20b 100%%25 %%09 %%C3%%A9' >"$dir/encoded"
        printf 'a b\xffx\xff\xff\n' >"$dir/arguments"
        ;;
    audit_line)
        # Any bytes make an event; these give words with spaces, quotes and
        # escapes, and a long last word.
        printf '\x08alice\x01\x13command not allowed\x05pts/0\x0c/home/alice\x01\x05alice\x01\x06docker\x01\x17/etc/newgate/policy:12\x03\x0c/usr/bin/echo\x04a b\x02\x27\x5c' >"$dir/event"
        ;;
    import_sudoers)
        # Inputs that name an include are skipped (fuzz/src/import.rs): the
        # seeds keep everything else of the test corpus.
        for f in tests/import/sudoers/* tests/import/invalid/*; do
            if [ -f "$f" ]; then grep -v include "$f" >"$dir/$(echo "$f" | tr / -)" || true; fi
        done
        ;;
    import_doas)
        for f in tests/import/doas/*.conf tests/import/invalid/*.conf; do
            cp "$f" "$dir/$(echo "$f" | tr / -)"
        done
        ;;
    esac
}

dictionary() {
    case $1 in
    import_sudoers) echo fuzz/sudoers.dict ;;
    import_doas) echo fuzz/doas.dict ;;
    audit_line) echo fuzz/audit.dict ;;
    *) echo fuzz/policy.dict ;;
    esac
}

crashed=()
for target in "${targets[@]}"; do
    seeds "$target"
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target" fuzz/logs
    log=fuzz/logs/$target.log
    printf '==> %s: %s seconds ... ' "$target" "$seconds"
    status=0
    # -max_len 1 MiB: inputs long enough for deep nesting and many rules.
    # -timeout 30: a single input that takes longer is a hang worth reporting.
    "$bin_dir/$target" "fuzz/corpus/$target" "fuzz/seeds/$target" \
        -dict="$(dictionary "$target")" -max_len=1048576 -timeout=30 -rss_limit_mb=2048 \
        -max_total_time="$seconds" -runs="${FUZZ_MAX_RUNS:--1}" -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    coverage=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || true)
    if ((status == 0)); then
        echo "${runs:-?} executions, ${coverage:-no coverage line}, no crash"
    elif ((status == 72)); then
        # libFuzzer's exit status after SIGINT (Ctrl-C): stopped, nothing found.
        echo "interrupted after ${runs:-?} executions, ${coverage:-no coverage line}, no crash"
    else
        crashed+=("$target")
        echo "CRASHED (exit $status) after ${runs:-?} executions"
        grep -E '^(==[0-9]+==|thread .* panicked|Test unit written to|SUMMARY)' "$log" | head -n 5 || true
        echo "    full output: $log"
    fi
done

if ((${#crashed[@]})); then
    echo "fuzz: crashed: ${crashed[*]}; minimise with: cargo +nightly fuzz tmin --sanitizer none TARGET ARTIFACT" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash"
