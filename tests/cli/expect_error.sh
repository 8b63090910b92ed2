#!/usr/bin/env bash
# expect_error.sh FRAGMENT COMMAND...: the command must fail with exit status 1 (an error, not a crash or a
# signal) and print FRAGMENT on stderr.
fragment=$1
shift
err=$("$@" 2>&1 >/dev/null)
status=$?
if [ "$status" -ne 1 ]; then
  echo "expected exit status 1, got $status; stderr: $err"
  exit 1
fi
case "$err" in
  *"$fragment"*) echo "ok: $err" ;;
  *) echo "stderr lacks '$fragment': $err"; exit 1 ;;
esac
