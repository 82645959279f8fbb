#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# What procbind costs a connect(2). Interleaved rounds of N UDP connects:
#   base     no agent loaded
#   nocred   agent loaded, the caller holds no credential (the fast path)
#   holder   agent loaded, the caller holds a self-bound credential (full
#            decision, scope check, event)
# each under two policies:
#   min      one identity with one scope rule, no protected, no exempt
#   full     the limits: 16 exempt and 16 protected rules that all miss, and
#            the matching scope rule last of 16 (the longest scans)
# Prints per-round wall ns/connect and in-kernel ns/run of pb_guard_connect4
# (run_time_ns / run_cnt with kernel.bpf_stats_enabled=1) and events lost in
# the holder runs, then medians and medians of per-round ratios.
# Root; usage: bench_connect.sh BUILD [N] [ROUNDS]
set -euo pipefail
BUILD=${1:?usage: bench_connect.sh BUILD_DIR [N] [ROUNDS]}
N=${2:-200000}
ROUNDS=${3:-5}
LOOP=$BUILD/tools/pb_connect_loop
T=$(mktemp -d /tmp/pbbench.XXXXXX)
CGROOT=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
CG=$CGROOT/pbbench-$$
PIN=/sys/fs/bpf/pbbench-$$
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
AGENT=
cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	"$BUILD/procbindd" --cleanup --pin-dir "$PIN" >/dev/null 2>&1
	sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
	rmdir "$CG" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
sysctl -qw kernel.bpf_stats_enabled=1
mkdir -p "$CG"

# policy FILE min|full
policy() {
	{
		printf 'version: 1\nmode: enforce\nidentities:\n  - name: bench\n'
		printf '    owner: bench@example.invalid\n    purpose: The benchmark loop.\n'
		printf '    expires: 2099-01-01\n    match: {cgroups: ["/pbbench-%s"]}\n    scope:\n' $$
		if [ "$2" = full ]; then
			for i in $(seq 1 15); do
				printf '      - {cidr: 10.%d.0.0/16, ports: 9, protocol: udp}\n' "$i"
			done
		fi
		printf '      - {cidr: 127.0.0.1/32, ports: 9, protocol: udp}\n'
		if [ "$2" = full ]; then
			printf 'protected:\n'
			for i in $(seq 1 16); do
				printf '  - {cidr: 10.%d.0.0/16, ports: 9, protocol: udp, identity: bench}\n' "$i"
			done
			printf 'exempt:\n'
			for i in $(seq 101 116); do
				printf '  - {cidr: 10.%d.0.0/16, ports: 53, protocol: any}\n' "$i"
			done
		fi
	} >"$1"
}
policy "$T/min.yaml" min
policy "$T/full.yaml" full

start_agent() {
	rm -rf "$T/state"
	"$BUILD/procbindd" --policy "$1" --state-dir "$T/state" --pin-dir "$PIN" \
		--socket "$T/ctl.sock" > /dev/null 2> "$T/agent.log" &
	AGENT=$!
	for _ in $(seq 100); do [ -S "$T/ctl.sock" ] && return; sleep 0.05; done
	cat "$T/agent.log"; exit 1
}
# the hooks outlive the agent by design: --cleanup takes them away
stop_agent() {
	kill "$AGENT"; wait "$AGENT" 2>/dev/null || true; AGENT=
	"$BUILD/procbindd" --cleanup --pin-dir "$PIN" >/dev/null
}
# sum of run_time_ns and run_cnt over programs named pb_guard_connect4
prog_stats() {
	bpftool prog show -j | jq -r '[.[] | select(.name=="pb_guard_connect4")] |
		"\(map(.run_time_ns // 0) | add // 0) \(map(.run_cnt // 0) | add // 0)"'
}
per_run() { echo "$1 $2" | awk '{ d = $4 - $2; printf "%.1f", d ? ($3 - $1) / d : 0 }'; }

# run_policy FILE: prints "nocred nocred_kern holder holder_kern events_lost"
run_policy() {
	local nocred s0 s1 nocred_k holder holder_k lp lost
	start_agent "$1"
	s0=$(prog_stats)
	nocred=$("$LOOP" - - "$N" 127.0.0.1 9 | awk '{print $1}')
	s1=$(prog_stats)
	nocred_k=$(per_run "$s0" "$s1")
	rm -f "$T/go" "$T/tok"
	# exec'd inside the benchmark's cgroup, so it is tagged
	(echo "$BASHPID" >"$CG/cgroup.procs" && exec "$LOOP" "$T/tok" "$T/go" "$N" 127.0.0.1 9) \
		> "$T/holder.out" &
	lp=$!
	for _ in $(seq 200); do
		grep -q "pbbench" "/proc/$lp/cgroup" 2>/dev/null &&
			[ "$(readlink "/proc/$lp/exe")" = "$(readlink -f "$LOOP")" ] && break
		sleep 0.01
	done
	"$BUILD/procbindctl" --socket "$T/ctl.sock" mint --pid "$lp" --identity bench \
		--out "$T/tok" > /dev/null || { kill "$lp"; exit 1; }
	s0=$(prog_stats); touch "$T/go"; wait "$lp"; s1=$(prog_stats)
	holder=$(awk '{print $1}' "$T/holder.out")
	[ "$(awk '{print $2}' "$T/holder.out")" = 0 ] || { echo "holder connects failed" >&2; exit 1; }
	holder_k=$(per_run "$s0" "$s1")
	sleep 0.5 # let the agent drain before reading its counters
	lost=$("$BUILD/procbindctl" --socket "$T/ctl.sock" status -o json | jq '.counters.events_lost')
	stop_agent
	echo "$nocred $nocred_k $holder $holder_k $lost"
}

printf "%-5s %7s | %-38s | %-38s\n" "" "" "policy min (1 rule)" "policy full (16+16+16 rules)"
printf "%-5s %7s | %7s %7s %7s %7s %4s | %7s %7s %7s %7s %4s\n" round base \
	nocred kern holder kern lost nocred kern holder kern lost
: > "$T/rows"
for r in $(seq "$ROUNDS"); do
	base=$("$LOOP" - - "$N" 127.0.0.1 9 | awk '{print $1}')
	read -r mn mnk mh mhk ml < <(run_policy "$T/min.yaml")
	read -r fn fnk fh fhk fl < <(run_policy "$T/full.yaml")
	printf "%-5s %7s | %7s %7s %7s %7s %4s | %7s %7s %7s %7s %4s\n" "$r" "$base" \
		"$mn" "$mnk" "$mh" "$mhk" "$ml" "$fn" "$fnk" "$fh" "$fhk" "$fl"
	echo "$base $mn $mnk $mh $mhk $fn $fnk $fh $fhk" >> "$T/rows"
done
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { awk -v c="$1" '{print $c}' "$T/rows" | median; }
ratio() { awk -v a="$1" -v b="$2" '{printf "%.3f\n", $a/$b}' "$T/rows" | median; }
echo
echo "medians over $ROUNDS interleaved rounds of $N UDP connects:"
echo "  wall ns/connect   base $(col 1)"
echo "                    min:  nocred $(col 2)  holder $(col 4)"
echo "                    full: nocred $(col 6)  holder $(col 8)"
echo "  kernel ns/run     min:  nocred $(col 3)  holder $(col 5)"
echo "  (connect4)        full: nocred $(col 7)  holder $(col 9)"
echo "  median ratios     nocred/base  min $(ratio 2 1)  full $(ratio 6 1)"
echo "                    holder/base  min $(ratio 4 1)  full $(ratio 8 1)"
echo "                    kernel full/min  nocred $(ratio 7 3)  holder $(ratio 9 5)"
