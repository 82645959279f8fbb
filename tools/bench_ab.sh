#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Two builds side by side on a section of tools/bench_cost.sh: one round of
# A, one of B, ROUNDS times (interleaved, so drift and noise fall on both),
# then the medians of each and the median of the per-round ratios B/A. Root.
#
#   bench_ab.sh BUILD_A BUILD_B [ROUNDS [SECTION]]   (default 5, connect)
#
# connect: per configuration the in-kernel ns of the connect4 program.
# storm: per offered rate (PB_STORM_RATES, default 100000 150000 200000
# 250000) the events/s carried whole, folded, lost and the agent's CPU per
# event; PB_AGENT_ARGS_B adds options to B's agent alone (an option A does
# not have).
# A build of an earlier commit is BUILD_A: "is the decision slower?" Both
# run B's load (tools/pb_connect_loop, tools/pb_storm) and this tree's
# bench_cost.sh.
set -euo pipefail
USAGE="usage: bench_ab.sh BUILD_A BUILD_B [ROUNDS [connect|storm]]"
A=$(cd "${1:?$USAGE}" && pwd)
B=$(cd "${2:?$USAGE}" && pwd)
ROUNDS=${3:-5}
SECTION=${4:-connect}
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/pbab.XXXXXX)
trap 'rm -rf "$T"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
if [ "$SECTION" = storm ]; then
	RATES=${PB_STORM_RATES:-100000 150000 200000 250000}
	for r in $(seq "$ROUNDS"); do
		for side in A B; do
			build=$A args=
			[ $side = B ] && build=$B args=${PB_AGENT_ARGS_B:-}
			PB_STORM_BIN=$B/tools/pb_storm PB_STORM_RATES="$RATES" PB_AGENT_ARGS="$args" \
				bash "$SRC/tools/bench_cost.sh" "$build" 1 storm >"$T/out" 2>&1 ||
				{ cat "$T/out"; exit 1; }
			# "  offered R/s: ... events N (E/s), folded past budget F, lost L, agent C us ..."
			sed -n 's|^  offered \([0-9]*\)/s:.*(\([0-9]*\)/s), folded past budget \([0-9]*\), lost \([0-9]*\), agent \([0-9.]*\) us.*|\1 \2 \3 \4 \5|p' \
				"$T/out" | sed "s/^/$r /" >>"$T/$side"
		done
		echo "  round $r done"
	done
	printf '%-10s | %10s %10s %7s | %9s %9s | %8s %8s | %7s %7s %6s\n' "offered/s" "A ev/s" "B ev/s" "B/A" \
		"A folded" "B folded" "A lost" "B lost" "A us" "B us" "B/A"
	for rate in $RATES; do
		col() { awk -v k="$rate" -v c="$2" '$2 == k {print $c}' "$T/$1" | median; }
		ratio() { join <(awk -v k="$rate" -v c="$1" '$2 == k {print $1, $c}' "$T/A" | sort) \
			<(awk -v k="$rate" -v c="$1" '$2 == k {print $1, $c}' "$T/B" | sort) |
			awk '$2 > 0 {printf "%.2f\n", $3 / $2}' | median; }
		printf '%-10s | %10s %10s %7s | %9s %9s | %8s %8s | %7s %7s %6s\n' "$rate" "$(col A 3)" "$(col B 3)" \
			"$(ratio 3)" "$(col A 4)" "$(col B 4)" "$(col A 5)" "$(col B 5)" "$(col A 6)" "$(col B 6)" "$(ratio 6)"
	done
	echo "(medians of $ROUNDS interleaved rounds; ev/s: events carried whole a second; us: agent CPU per event)"
	exit 0
fi
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
# the columns of bench_cost.sh's round line, in its order
names=("floor (return 1)" "min policy, holds nothing" "min policy, holder, same destination"
	"full policy, holds nothing" "full policy, holds nothing, scanned dest." "full policy, holder, same destination"
	"min policy, holder, two dest. in turn" "min policy, holder, approval-gated"
	"min policy, holder, 8 dest. in turn" "min policy, holder, 256 dest. in turn"
	"min policy, holder, each connect new")
printf '%-44s %10s %10s %8s\n' "connect4 in-kernel ns, medians" "A" "B" "B/A"
for i in "${!names[@]}"; do
	c=$((i + 1))
	ma=$(awk -v c=$c '{print $c}' "$T/A" | median)
	mb=$(awk -v c=$c '{print $c}' "$T/B" | median)
	mr=$(paste "$T/A" "$T/B" | awk -v c=$c -v n=${#names[@]} '$c > 0 {printf "%.3f\n", $(c + n) / $c}' | median)
	printf '%-44s %10s %10s %8s\n' "${names[$i]}" "$ma" "$mb" "$mr"
done
