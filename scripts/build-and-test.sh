#!/usr/bin/env bash
# Configure, build (2 jobs) and run every test suite. stories260K and TinyStories are built in (resources/); the other
# test data comes from ../shared (-DBASIS_SHARED_DIR), and tests needing it are skipped without it.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2
cd build && ctest --output-on-failure -j2
