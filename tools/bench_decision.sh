#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A holder's connect to somewhere new: the decision's cost without its
# event, against its connect to a destination it keeps (issue 31: within
# 2x). The event cannot be left out of a build that runs on a node, so a
# measurement build of this tree leaves it out (CMake option
# PB_MEASURE_DECISION_ONLY: allowed connects send no event), made in
# BUILD/measure-decision, and tools/bench_ab.sh runs the connect section on
# BUILD (A) and on it (B), interleaved. Root.
#
#   bench_decision.sh BUILD [ROUNDS]     (default 5)
#
# Prints bench_ab.sh's table, then the medians of the per-round ratios
# B "each connect new" / A "same destination" and B "256 in turn" / A
# "same destination", and whether they are within 2.
set -euo pipefail
BUILD=$(cd "${1:?usage: bench_decision.sh BUILD [ROUNDS]}" && pwd)
ROUNDS=${2:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
M=$BUILD/measure-decision
cmake -S "$SRC" -B "$M" -DPB_MEASURE_DECISION_ONLY=ON >/dev/null
cmake --build "$M" -j"$(nproc)" >/dev/null
OUT=$(bash "$SRC/tools/bench_ab.sh" "$BUILD" "$M" "$ROUNDS" connect)
echo "$OUT"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# "  round R: A c1 .. c11 | B c1 .. c11": same destination is column 3,
# 256 in turn 10, each connect new 11
rounds=$(sed -n 's/^  round [0-9]*: A \(.*\)| B \(.*\)$/\1 \2/p' <<<"$OUT")
new=$(awk '$3 > 0 { printf "%.3f\n", $22 / $3 }' <<<"$rounds" | median)
r256=$(awk '$3 > 0 { printf "%.3f\n", $21 / $3 }' <<<"$rounds" | median)
verdict() { awk -v r="$1" 'BEGIN { print (r <= 2 ? "within 2x" : "NOT within 2x") }'; }
echo "a new destination's decision without its event / a kept destination (medians of per-round ratios):"
echo "  each connect new: $new ($(verdict "$new")); 256 in turn: $r256 ($(verdict "$r256"))"
