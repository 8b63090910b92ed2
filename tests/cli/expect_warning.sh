#!/usr/bin/env bash
# expect_warning.sh FRAGMENT COMMAND...: the command must succeed (exit status 0) and print FRAGMENT on stderr.
fragment=$1
shift
err=$("$@" 2>&1 >/dev/null)
status=$?
if [ "$status" -ne 0 ]; then
  echo "expected exit status 0, got $status; stderr: $err"
  exit 1
fi
case "$err" in
  *"$fragment"*) echo "ok: $err" ;;
  *) echo "stderr lacks '$fragment': $err"; exit 1 ;;
esac
