#!/usr/bin/env bash
# Configure, build (2 jobs) and run every test suite. Test data comes from ../shared (or $BASIS_SHARED_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2
cd build && ctest --output-on-failure -j2
