#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# What procbind costs the node's other syscalls, and what the file guard
# costs the bound process. Interleaved rounds; in each:
#   base   no agent loaded (everything pinned removed)
#   agent  the agent with its defaults and one credential minted (its owner
#          asleep): fanotify guard, no syscall tracepoint
#   tp     the same with --acquire-tracepoints (the open(2) tracepoints the
#          default path no longer attaches), to show what they cost
# and in each: getppid(2), open(2)+close(2) of an unrelated file, fork + exec
# of /bin/true, each as ns/op (median of 5 batches). Then the owner's own
# open+read+close of its token under the agent (one FAN_OPEN_PERM and one
# FAN_ACCESS_PERM round trip) against the same on a file nobody guards.
# Prints each round and the medians of the per-round ratios.
# Root; usage: bench_guard.sh BUILD [ROUNDS] [N]
set -euo pipefail
BUILD=${1:?usage: bench_guard.sh BUILD_DIR [ROUNDS] [N]}
ROUNDS=${2:-5}
N=${3:-500000}
NFORK=$((N / 200))
LOOP=$BUILD/tools/pb_syscall_loop
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/pbbench.XXXXXX)
CGROOT=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
CG=$CGROOT/pbtest-bench-$$/pod # the test policy's identity matches /pbtest-*/**
PIN=/sys/fs/bpf/pbbench-$$
AGENT=
cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	"$BUILD/procbindd" --cleanup --pin-dir "$PIN" >/dev/null 2>&1
	for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p"; done
	sleep 0.1
	rmdir "$CG" "${CG%/pod}" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$CG"
echo unrelated >"$T/plain"

start_agent() {
	rm -rf "$T/state"
	"$BUILD/procbindd" --policy "$SRC/tests/integration/policy.yaml" --state-dir "$T/state" \
		--pin-dir "$PIN" --socket "$T/ctl.sock" "$@" >/dev/null 2>"$T/agent.log" &
	AGENT=$!
	for _ in $(seq 200); do [ -S "$T/ctl.sock" ] && return; sleep 0.05; done
	cat "$T/agent.log"; exit 1
}
stop_agent() {
	kill "$AGENT"; wait "$AGENT" 2>/dev/null || true; AGENT=
	if [ -n "${OWNER:-}" ]; then kill "$OWNER" 2>/dev/null; wait "$OWNER" 2>/dev/null || true; OWNER=; fi
	"$BUILD/procbindd" --cleanup --pin-dir "$PIN" >/dev/null 2>&1
	rm -f "$T/ctl.sock"
}
# a process in the identity's cgroup, minted for, asleep: the node has one
# live credential while the loops run
owner_process() {
	rm -f "$T/tok" "$T/tok2" "$T/go"
	(echo "$BASHPID" >"$CG/cgroup.procs" && exec "$LOOP" openread 5 "$T/tok" "$T/never") &
	OWNER=$!
	for _ in $(seq 200); do
		[ "$(readlink "/proc/$OWNER/exe")" = "$(readlink -f "$LOOP")" ] && break; sleep 0.01
	done
	"$BUILD/procbindctl" --socket "$T/ctl.sock" mint --pid "$OWNER" --identity payments \
		--out "$T/tok" >/dev/null || { echo "mint for the sleeping owner failed" >&2; exit 1; }
}
ns() { "$LOOP" "$@" | sed -n 's/.*ns_per_op=//p'; }
med3() { for _ in 1 2 3; do ns "$@"; done | sort -g | sed -n 2p; }
loops() { echo "$(med3 getppid "$N") $(med3 openclose "$N" "$T/plain") $(med3 forkexec "$NFORK")"; }
# the owner's open+read+close of its own token: N/50 round trips
owner_reads() {
	rm -f "$T/tok2" "$T/go"
	(echo "$BASHPID" >"$CG/cgroup.procs" && exec "$LOOP" openread $((N / 50)) "$T/tok2" "$T/go") \
		>"$T/owner.out" &
	local p=$!
	for _ in $(seq 200); do
		[ "$(readlink "/proc/$p/exe")" = "$(readlink -f "$LOOP")" ] && break; sleep 0.01
	done
	"$BUILD/procbindctl" --socket "$T/ctl.sock" mint --pid "$p" --identity payments \
		--out "$T/tok2" >/dev/null || { echo "mint for the reading owner failed" >&2; exit 1; }
	touch "$T/go"; wait "$p"
	sed -n 's/.*ns_per_op=//p' "$T/owner.out"
}

printf "%-5s | %-26s | %-26s | %-26s | %s\n" "" "base (no agent)" "agent (defaults)" \
	"agent --acquire-tracepoints" "owner open+read ns"
printf "%-5s | %8s %8s %8s | %8s %8s %8s | %8s %8s %8s | %8s %8s\n" round getppid openclos \
	forkexec getppid openclos forkexec getppid openclos forkexec guarded plain
: >"$T/rows"
for r in $(seq "$ROUNDS"); do
	read -r bg1 bo1 bf1 < <(loops)
	start_agent; owner_process
	read -r ag ao af < <(loops)
	guarded=$(owner_reads) plain=$(ns openread $((N / 50)) "$T/plain")
	[ -n "$guarded" ] || { cat "$T/owner.out" "$T/agent.log" >&2; exit 1; }
	stop_agent
	read -r bg2 bo2 bf2 < <(loops)
	bg=$(awk -v a="$bg1" -v b="$bg2" 'BEGIN { printf "%.1f", (a + b) / 2 }')
	bo=$(awk -v a="$bo1" -v b="$bo2" 'BEGIN { printf "%.1f", (a + b) / 2 }')
	bf=$(awk -v a="$bf1" -v b="$bf2" 'BEGIN { printf "%.1f", (a + b) / 2 }')
	start_agent --acquire-tracepoints; owner_process
	read -r tg to tf < <(loops)
	stop_agent
	printf "%-5s | %8s %8s %8s | %8s %8s %8s | %8s %8s %8s | %8s %8s\n" "$r" "$bg" "$bo" "$bf" \
		"$ag" "$ao" "$af" "$tg" "$to" "$tf" "$guarded" "$plain"
	echo "$bg $bo $bf $ag $ao $af $tg $to $tf $guarded $plain" >>"$T/rows"
done
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" '{printf "%.3f\n", $a/$b}' "$T/rows" | median; }
col() { awk -v c="$1" '{print $c}' "$T/rows" | median; }
echo
echo "medians of per-round ratios over $ROUNDS interleaved rounds (N=$N, fork+exec N=$NFORK):"
echo "  agent (defaults) / base      getppid $(ratio 4 1)  open+close $(ratio 5 2)  fork+exec $(ratio 6 3)"
echo "  --acquire-tracepoints / base getppid $(ratio 7 1)  open+close $(ratio 8 2)  fork+exec $(ratio 9 3)"
echo "  owner open+read of its token: $(col 10) ns guarded, $(col 11) ns unguarded file" \
	"(one round trip to the guard: $(awk -v g="$(col 10)" -v p="$(col 11)" 'BEGIN { printf "%.1f", (g - p) / 2000 }') us each, two per open+read)"
