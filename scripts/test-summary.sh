#!/usr/bin/env bash
# test-summary.sh LOG SKIPS: the one summary line at the end of scripts/test.sh.
# LOG is what `cargo test` printed (stdout and stderr); SKIPS the file where
# each skipped check left a line (newgate-testkit: binary, needs, what, why).
# Prints, per suite, how many tests passed, failed and were skipped (libtest
# counts a skipped test as passed: it is moved to the skipped column), then
# the totals. Exits 1 when a suite failed or printed no result, or, under CI,
# when a check was skipped for want of root.
set -euo pipefail
log=$1 skips=$2
awk -F'\t' -v ci="${CI:-}" '
    FILENAME == ARGV[1] { skipped[$1]++; if ($2 == "root") root_skips++; next }
    function close_suite() {
        if (suite != "" && !seen_result) { order[++n] = suite; name[suite] = display; crashed[suite] = 1 }
        suite = ""
    }
    /^ *Running / {
        close_suite()
        match($0, /\(([^()]*)\)$/)
        binary = substr($0, RSTART + 1, RLENGTH - 2); sub(/.*\//, "", binary)
        display = binary; sub(/-[0-9a-f]+$/, "", display)
        if ($0 ~ /Running unittests src\/lib\.rs/) display = display "(lib)"
        else if ($0 ~ /Running unittests/) display = display "(bin)"
        suite = binary; seen_result = 0; next
    }
    /^ *Doc-tests / {
        close_suite()
        crate = $0; sub(/^ *Doc-tests /, "", crate)
        suite = "doc:" crate; display = crate "(doc)"; seen_result = 0; next
    }
    /^test result: / && suite != "" {
        seen_result = 1; order[++n] = suite; name[suite] = display
        p = f = s = 0
        if (match($0, /[0-9]+ passed/)) p = substr($0, RSTART, RLENGTH) + 0
        if (match($0, /[0-9]+ failed/)) f = substr($0, RSTART, RLENGTH) + 0
        if (match($0, /[0-9]+ skipped/)) s = substr($0, RSTART, RLENGTH) + 0
        else { s = skipped[suite] + 0; p -= s }
        passed[suite] = p; failed[suite] = f; skips[suite] = s
        next
    }
    END {
        close_suite()
        line = "summary:"
        for (i = 1; i <= n; i++) {
            k = order[i]
            if (crashed[k]) { line = line " " name[k] " NO RESULT;"; bad = 1; continue }
            line = line sprintf(" %s %d passed %d failed %d skipped;", name[k], passed[k], failed[k], skips[k])
            tp += passed[k]; tf += failed[k]; ts += skips[k]
            if (failed[k]) bad = 1
        }
        line = line sprintf(" total %d passed %d failed %d skipped", tp, tf, ts)
        print line
        if (ci != "" && ci != "false" && root_skips) {
            print "under CI, " root_skips " check(s) of the root suites were skipped: CI must run as root" > "/dev/stderr"
            bad = 1
        }
        exit bad
    }
' "$skips" "$log"
