#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The sanitizer build: everything (agent, CLI, tests, fuzz harnesses) with
# clang, AddressSanitizer and UndefinedBehaviorSanitizer, in a build
# directory of its own. The main build's ctest runs what it makes (labels
# sanitize and fuzz).
#
#   sanitize_build.sh SRC BUILD
set -euo pipefail
SRC=${1:?source directory}
BUILD=${2:?build directory}
command -v clang >/dev/null || { echo "sanitize_build: clang missing: apt-get install -y clang"; exit 1; }
cmake -S "$SRC" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DPB_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
