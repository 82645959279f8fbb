#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Capacity: a full credential map refuses the mint and counts it; with a full
# process map, a holder's child the kernel could not record is denied
# (untracked), counted and reported.
. "$(dirname "$0")/lib.sh"
P=$PORT
mkdir -p "$CG" "$POD_A" "$POD_B"
actor owner cgroup:$POD_A pidfile:$T/owner.pid sleep:$HOLD
OWNER=$(started owner)
start_server

# --- a full credential map: the mint is refused and counted
sed 's/^credentials:/limits:\n  max_creds: 16\ncredentials:/' "$PB_SOURCE/tests/integration/policy.yaml" \
	>$T/small.yaml
PB_POLICY=$T/small.yaml start_agent
for i in $(seq 1 16); do
	ids[$i]=$(mint "$OWNER" "$T/t$i")
	[ -n "${ids[$i]}" ] || fail "mint $i of 16"
done
if ctl mint --pid "$OWNER" --identity payments >$T/err 2>&1; then fail "a 17th mint fit"; fi
grep -q "credential map is full of live credentials (16;" $T/err || { cat $T/err; fail "message"; }
ctl status -o json | jq -e '.counters.mint_refused_map_full == 1' >/dev/null || fail "not counted"
pass "full credential map: $(cat $T/err); counted"
# an ended credential (kept an hour to say why its holders are refused)
# makes room for a live one
ctl revoke "${ids[1]}" >/dev/null
[ -n "$(mint "$OWNER" "$T/t17")" ] || fail "no room made by a revoked credential"
ctl status -o json | jq -e '.counters.dead_credentials_forgotten_early == 1 and .maps.creds.entries == 16' \
	>/dev/null || fail "status after the room was made: $(ctl status -o json | jq -c '.counters, .maps')"
[ ! -e "$T/t1" ] || fail "the forgotten credential's token file is still there"
pass "a revoked credential made room for a 17th mint (its token file went with it)"

# --- a full process map: a holder's child the kernel could not record is
# denied (untracked), counted, and reported
stop_agent
"$BUILD/procbindd" --cleanup --pin-dir "$PIN" >/dev/null
sed 's/^credentials:/limits:\n  max_procs: 1024\ncredentials:/' "$PB_SOURCE/tests/integration/policy.yaml" \
	>$T/tiny.yaml
# Any process on the machine that exits frees a record between the fill and
# the fork (the test's own jq, a kernel-matrix guest's runner beside it): so
# the holder forks a chain of ten, each connecting, and the chain takes
# whatever was freed; the ones forked after that have no record.
CHAIN=()
for _ in $(seq 10); do CHAIN+=(fork connect:tcp:127.0.0.1:$P); done
actor holder cgroup:$POD_A pidfile:$T/holder.pid wait:$T/hgo read:$T/tok9 wait:$T/full "${CHAIN[@]}"
wait_file $T/holder.pid
PB_POLICY=$T/tiny.yaml start_agent
[ -n "$(mint "$(cat $T/holder.pid)" "$T/tok9")" ] || fail "mint for holder"
touch $T/hgo
wait_line holder "read:"
# fillers are forks of this shell that block reading a FIFO: no exec, so
# cheap even where exec is slow (the kernel matrix's TCG guests)
mkfifo $T/idle
for _ in $(seq 12); do
	[ "$(ctl status -o json | jq '.counters.procs_full')" -gt 0 ] && break
	for _ in $(seq 100); do (read -r -t 300 _ <>$T/idle) & PIDS+=($!); done
	sleep 0.2
done
[ "$(ctl status -o json | jq '.counters.procs_full')" -gt 0 ] || fail "could not fill the process map"
touch $T/full
expect holder connect:tcp:127.0.0.1:$P EPERM
wait_event '.event=="connect" and .reason=="untracked" and .verdict=="deny"' >/dev/null
FULL=$(ctl status -o json | jq -c '{procs_full: .counters.procs_full, untracked: .verdicts.deny.untracked}')
pass "process map full: the holder's unrecorded child is denied (untracked): $FULL"
