#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Two builds side by side on tools/bench_cost.sh's connect section: one
# round of A, one of B, ROUNDS times (interleaved, so drift and noise fall on
# both), then per configuration the median in-kernel ns of each and the
# median of the per-round ratios B/A. Root.
#
#   bench_ab.sh BUILD_A BUILD_B [ROUNDS]     (default 5)
#
# A build of an earlier commit is BUILD_A: "is the decision slower?" Both
# run B's load (tools/pb_connect_loop) and this tree's bench_cost.sh.
set -euo pipefail
A=$(cd "${1:?usage: bench_ab.sh BUILD_A BUILD_B [ROUNDS]}" && pwd)
B=$(cd "${2:?usage: bench_ab.sh BUILD_A BUILD_B [ROUNDS]}" && pwd)
ROUNDS=${3:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/pbab.XXXXXX)
trap 'rm -rf "$T"' EXIT
# a bench_cost round line: "round 1: base W floor W/K | min nocred W/K holder W/K |
# full nocred W/K scanned W/K holder W/K (wall/kernel ns)" -> the kernel ns
kernel_ns() { sed -n 's/.*round 1: //p' | tr '|' ' ' | grep -o '[0-9.]*/[0-9.]*' | cut -d/ -f2 | tr '\n' ' '; }
for r in $(seq "$ROUNDS"); do
	for side in A B; do
		build=$A
		[ $side = B ] && build=$B
		PB_CONNECT_LOOP=$B/tools/pb_connect_loop bash "$SRC/tools/bench_cost.sh" "$build" 1 connect >"$T/out" 2>&1 ||
			{ cat "$T/out"; exit 1; }
		echo "$(kernel_ns <"$T/out")" >>"$T/$side"
	done
	echo "  round $r: A $(tail -n 1 "$T/A")| B $(tail -n 1 "$T/B")"
done
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
names=("floor (return 1)" "min policy, holds nothing" "min policy, holder, same destination"
	"full policy, holds nothing" "full policy, holds nothing, scanned dest." "full policy, holder, same destination"
	"min policy, holder, two dest. in turn")
printf '%-44s %10s %10s %8s\n' "connect4 in-kernel ns, medians" "A" "B" "B/A"
for i in "${!names[@]}"; do
	c=$((i + 1))
	ma=$(awk -v c=$c '{print $c}' "$T/A" | median)
	mb=$(awk -v c=$c '{print $c}' "$T/B" | median)
	mr=$(paste "$T/A" "$T/B" | awk -v c=$c -v n=${#names[@]} '$c > 0 {printf "%.3f\n", $(c + n) / $c}' | median)
	printf '%-44s %10s %10s %8s\n' "${names[$i]}" "$ma" "$mb" "$mr"
done
