#!/usr/bin/env bash
# bench_ppl.sh CLI JSON_CHECK TEXT: basis-cli bench ppl on the built-in stories260K times one row per kernel x
# workers x batch (so --workers reaches the evaluation: each row reports the workers it ran with), gives the same
# numbers in every row, prints one JSON object as its last line with --json, and refuses an empty --workers.
set -u
cli=$1 check=$2 text=$3
failed=0
short="${TMPDIR:-/tmp}/bench_ppl_text.$$"
head -c 24000 "$text" > "$short"
out=$("$cli" bench ppl --model builtin:stories260k --text "$short" --attention fused --workers 1,2 --batches 1 --json) ||
    { echo "FAIL: exit $?"; rm -f "$short"; exit 1; }
printf '%s\n' "$out" | "$check" last-line > /dev/null || { echo "FAIL: last line is not one JSON object"; failed=1; }
last=$(printf '%s\n' "$out" | tail -n 1)
case "$last" in *'"workers":1,'*'"workers":2,'*) echo "ok   rows with 1 and 2 workers";; *) echo "FAIL: workers not in rows: $last"; failed=1;; esac
case "$last" in *'"max_relative_difference":0.0'*) echo "ok   first row is the reference";; *) echo "FAIL: no reference row: $last"; failed=1;; esac
err=$("$cli" bench ppl --model builtin:stories260k --text "$short" --workers "" 2>&1 >/dev/null)
rm -f "$short"
case "$err" in *"--workers"*) echo "ok   empty --workers refused";; *) echo "FAIL: empty --workers: $err"; failed=1;; esac
exit $failed
