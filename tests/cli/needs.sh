#!/usr/bin/env bash
# needs.sh PATH COMMAND...: runs COMMAND when PATH (test data in ../shared) exists; otherwise says so and is
# reported as skipped (SKIP_REGULAR_EXPRESSION in CMakeLists.txt).
if [ ! -e "$1" ]; then
  echo "skipped: test data not found: $1 (configure with -DBASIS_SHARED_DIR=the shared/ folder)"
  exit 77
fi
shift
exec "$@"
