#!/usr/bin/env bash
# bench_tokenizer.sh CLI JSON_CHECK TOKENIZER TEXT: basis-cli bench tokenizer encodes the --text it is given (the
# JSON reports its size and a token count that changes with the text), prints one JSON object as its last line
# with --json, says the two paths gave the same ids, and refuses --repeats 0.
set -u
cli=$1 check=$2 tok=$3 text=$4
failed=0
out=$("$cli" bench tokenizer --tokenizer "$tok" --text "$text" --repeats 1 --json) || { echo "FAIL: exit $?"; exit 1; }
printf '%s\n' "$out" | "$check" last-line > /dev/null || { echo "FAIL: last line is not one JSON object"; failed=1; }
last=$(printf '%s\n' "$out" | tail -n 1)
bytes=$(wc -c < "$text" | tr -d ' ')
case "$last" in *"\"bytes\":$bytes,"*) echo "ok   bytes $bytes";; *) echo "FAIL: bytes of $text ($bytes) not in: $last"; failed=1;; esac
case "$last" in *'"ids_identical":true'*) echo "ok   ids identical";; *) echo "FAIL: ids_identical missing"; failed=1;; esac
head -c 2000 "$text" > "${TMPDIR:-/tmp}/bench_tokenizer_short.$$"
short=$("$cli" bench tokenizer --tokenizer "$tok" --text "${TMPDIR:-/tmp}/bench_tokenizer_short.$$" --repeats 1 --json | tail -n 1)
rm -f "${TMPDIR:-/tmp}/bench_tokenizer_short.$$"
case "$short" in *'"bytes":2000,'*) echo "ok   --text read";; *) echo "FAIL: --text not read: $short"; failed=1;; esac
err=$("$cli" bench tokenizer --tokenizer "$tok" --text "$text" --repeats 0 2>&1 >/dev/null)
case "$err" in *"--repeats must be at least 1"*) echo "ok   --repeats 0 refused";; *) echo "FAIL: --repeats 0: $err"; failed=1;; esac
exit $failed
