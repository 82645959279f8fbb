#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# What procbind costs a connect(2). Interleaved rounds of N UDP connects:
#   base    no agent loaded
#   nocred  agent loaded, the caller holds no credential (the fast path)
#   holder  agent loaded, the caller holds a self-bound credential (full decision + event)
# Prints per-round wall ns/connect and in-kernel ns/run of pb_guard_connect4
# (run_time_ns / run_cnt with kernel.bpf_stats_enabled=1), events the agent
# wrote and lost in the holder run, then medians and
# the median of per-round ratios. Root; usage: bench_connect.sh BUILD [N] [ROUNDS]
set -euo pipefail
BUILD=${1:?usage: bench_connect.sh BUILD_DIR [N] [ROUNDS]}
N=${2:-200000}
ROUNDS=${3:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
LOOP=$BUILD/tools/pb_connect_loop
T=$(mktemp -d /tmp/pbbench.XXXXXX)
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
AGENT=
cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
	rm -rf "$T"
}
trap cleanup EXIT
sysctl -qw kernel.bpf_stats_enabled=1

start_agent() {
	rm -rf "$T/state"
	"$BUILD/procbindd" --policy "$SRC/deploy/policy.yaml" --state-dir "$T/state" \
		--socket "$T/ctl.sock" > /dev/null 2> "$T/agent.log" &
	AGENT=$!
	for _ in $(seq 100); do [ -S "$T/ctl.sock" ] && return; sleep 0.05; done
	cat "$T/agent.log"; exit 1
}
stop_agent() { kill "$AGENT"; wait "$AGENT" 2>/dev/null || true; AGENT=; }
# sum of run_time_ns and run_cnt over programs named pb_guard_connect4
prog_stats() {
	bpftool prog show -j | jq -r '[.[] | select(.name=="pb_guard_connect4")] |
		"\(map(.run_time_ns // 0) | add // 0) \(map(.run_cnt // 0) | add // 0)"'
}
run_kernel() { # label, then loop args; prints "wall kernel_ns_per_run"
	local s0 s1 wall
	s0=$(prog_stats)
	wall=$("$LOOP" "$@" | awk '{print $1}')
	s1=$(prog_stats)
	echo "$wall $(echo "$s0 $s1" | awk '{ d = $4 - $2; printf "%.1f", d ? ($3 - $1) / d : 0 }')"
}

printf "%-6s %12s %12s %12s %14s %14s %10s %10s\n" round base_ns nocred_ns holder_ns nocred_kern_ns holder_kern_ns ev_written ev_lost
: > "$T/rows"
for r in $(seq "$ROUNDS"); do
	base=$("$LOOP" - - "$N" 127.0.0.1 9 | awk '{print $1}')
	start_agent
	read -r nocred nocred_k < <(run_kernel - - "$N" 127.0.0.1 9)
	rm -f "$T/go" "$T/tok"
	"$LOOP" "$T/tok" "$T/go" "$N" 127.0.0.1 9 > "$T/holder.out" &
	lp=$!
	"$BUILD/procbindctl" --socket "$T/ctl.sock" mint --pid "$lp" --out "$T/tok" > /dev/null
	s0=$(prog_stats); touch "$T/go"; wait "$lp"; s1=$(prog_stats)
	holder=$(awk '{print $1}' "$T/holder.out")
	[ "$(awk '{print $2}' "$T/holder.out")" = 0 ] || { echo "holder connects failed"; exit 1; }
	holder_k=$(echo "$s0 $s1" | awk '{ d = $4 - $2; printf "%.1f", d ? ($3 - $1) / d : 0 }')
	sleep 0.5 # let the agent drain before reading its counters
	lost=$("$BUILD/procbindctl" --socket "$T/ctl.sock" status -o json | jq '.counters.events_lost')
	written=$("$BUILD/procbindctl" --socket "$T/ctl.sock" status -o json | jq '.counters.events_written')
	stop_agent
	printf "%-6s %12s %12s %12s %14s %14s %10s %10s\n" "$r" "$base" "$nocred" "$holder" "$nocred_k" "$holder_k" "$written" "$lost"
	echo "$base $nocred $holder $nocred_k $holder_k" >> "$T/rows"
done
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo
echo "medians over $ROUNDS interleaved rounds of $N UDP connects:"
echo "  wall ns/connect      base $(awk '{print $1}' "$T/rows" | median)  nocred $(awk '{print $2}' "$T/rows" | median)  holder $(awk '{print $3}' "$T/rows" | median)"
echo "  kernel ns/run (connect4)    nocred $(awk '{print $4}' "$T/rows" | median)  holder $(awk '{print $5}' "$T/rows" | median)"
echo "  median ratio nocred/base    $(awk '{printf "%.3f\n", $2/$1}' "$T/rows" | median)"
echo "  median ratio holder/base    $(awk '{printf "%.3f\n", $3/$1}' "$T/rows" | median)"
