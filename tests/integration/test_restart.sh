#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Restart safety: the hooks and maps are pinned, so kill -9 of the agent does
# not stop enforcement; a new agent adopts the running state (credentials,
# processes, the ring buffer with what happened meanwhile) and the audit trail
# verifies with a gap for the downtime. A process that predates the agent is
# found and enforced. (Pinned state of another layout and --cleanup:
# test_layout.sh; full maps: test_capacity.sh.)
# Foreign holders are what this test judges: the file guard would refuse
# their reads (test_guard.sh), so the open tracepoints record them instead.
PB_FILES=tracepoints
. "$(dirname "$0")/lib.sh"
P=$PORT
AUDIT=$T/state/audit

# the kernel probe: what is there, what will be used
"$BUILD/procbindd" --probe >$T/probe.out || { cat $T/probe.out; fail "--probe"; }
grep -q "^result: every required feature is present" $T/probe.out &&
	grep -qE "^  ring buffer +yes" $T/probe.out && grep -qE "^  BPF-LSM +(yes|no)" $T/probe.out ||
	{ cat $T/probe.out; fail "--probe output"; }
pass "procbindd --probe: $(grep -c ' yes ' $T/probe.out) features present"

# started before any agent: found by the task iterator, tagged, enforced
mkdir -p "$CG" "$POD_A" "$POD_B"
actor owner cgroup:$POD_A pidfile:$T/owner.pid wait:$T/go read:$T/tok \
	connect:tcp:127.0.0.1:$P wait:$T/down connect:tcp:::1:$P wait:$T/up \
	connect:udp:127.0.0.1:$P sleep:$HOLD
OWNER=$(started owner)
# and one whose executable is on overlayfs, as in a container's root. Upper
# and lower on different filesystems (tmpfs, this one) and xino=off: the
# kernel's device for the file is the overlay's, stat's is its layer's.
OVL=$T/ovl
LIVE=1
mkdir -p $OVL/lower $OVL/rw $OVL/root
cp "$ACTOR" $OVL/lower/pb_actor
if mount -t tmpfs tmpfs $OVL/rw && mkdir $OVL/rw/upper $OVL/rw/work &&
	mount -t overlay overlay -o lowerdir=$OVL/lower,upperdir=$OVL/rw/upper,workdir=$OVL/rw/work,xino=off \
		$OVL/root; then
	PB_ACTOR_BIN=$OVL/root/pb_actor actor ovl cgroup:$POD_A pidfile:$T/ovl.pid sleep:$HOLD
	wait_file $T/ovl.pid
	[ "$(stat -c %d $OVL/root/pb_actor)" != "$(stat -c %d $OVL/root)" ] ||
		echo "NOTE: overlayfs here reports one device for files and directories"
	LIVE=2
else
	echo "SKIP (part): overlayfs cannot be mounted here; the overlay executable case is not run"
fi
start_agent
start_server
ID=$(mint "$OWNER" "$T/tok")
[ -n "$ID" ] || fail "mint for a process that predates the agent"
pass "a process started before the agent was found (seeded, tagged) and minted for"
if [ -s $T/ovl.pid ]; then
	OP=$(cat $T/ovl.pid)
	[ -n "$(mint "$OP" "$T/tok_ovl")" ] || fail "mint for a process whose executable is on overlayfs"
	ctl ps -o json | jq -e --argjson p "$OP" --arg exe "$OVL/root/pb_actor" \
		'.[] | select(.pid==$p) | .exe==$exe and .identity=="payments"' >/dev/null ||
		fail "the overlay process $OP: $(ctl ps -o json)"
	pass "an executable on overlayfs is named and tagged (device: the overlay's, not its layer's)"
	if ctl mint --pid "$OP" --identity payments --out $OVL/root/tok >$T/err 2>&1; then
		fail "a token file on overlayfs was accepted (the kernel would never recognise it)"
	fi
	grep -q "is on overlayfs" $T/err && [ ! -e $OVL/root/tok ] || { cat $T/err; fail "overlay refusal"; }
	pass "a token file on overlayfs is refused, not left unenforced: $(cat $T/err)"
fi
actor sib cgroup:$POD_A pidfile:$T/sib.pid wait:$T/go read:$T/tok connect:tcp:127.0.0.1:$P \
	wait:$T/down connect:tcp:::1:$P wait:$T/up connect:udp:127.0.0.1:$P sleep:$HOLD
SIB=$(started sib)
touch $T/go
expect owner connect:tcp:127.0.0.1:$P ok
expect sib connect:tcp:127.0.0.1:$P EPERM
pass "agent up: the sibling that read the token is denied"
ctl health >$T/h.out || { cat $T/h.out; fail "health"; }
pass "health: $(cat $T/h.out)"

# --- kill -9: enforcement stays
link_ids() { bpftool link show pinned "$PIN/link_pb_guard_connect4" -j | jq -r '"\(.id) \(.prog_id)"'; }
read -r LINK0 PROG0 <<<"$(link_ids)"
stop_agent -9
[ -e "$PIN/link_pb_guard_connect4" ] || fail "the connect hook was not pinned"
touch $T/down
expect owner connect:tcp:::1:$P ok
expect sib connect:tcp:::1:$P EPERM
pass "agent killed: the sibling is still denied, the owner still allowed"

# --- a new agent adopts the running state
start_agent --metrics-file "$T/procbind.prom"
ctl status -o json | jq -e ".adopted == true and .credentials_live == $LIVE" >/dev/null ||
	fail "the new agent did not adopt: $(ctl status -o json | jq -c '{adopted, credentials_live}')"
ctl ps -o json | jq -e --argjson o "$OWNER" --argjson s "$SIB" \
	'(.[] | select(.pid==$s) | .held[0].reason=="foreign_pid") and
	 (.[] | select(.pid==$o) | .identity=="payments")' >/dev/null || fail "ps after adoption"
# the new agent's program went into the same cgroup link (BPF_LINK_UPDATE):
# the hook was never detached
read -r LINK1 PROG1 <<<"$(link_ids)"
[ "$LINK1" = "$LINK0" ] && [ "$PROG1" != "$PROG0" ] ||
	fail "connect4 link $LINK0 (prog $PROG0) became link $LINK1 (prog $PROG1)"
pass "the new agent's connect4 program replaced the old one in link $LINK0 (prog $PROG0 -> $PROG1)"
touch $T/up
expect owner connect:udp:127.0.0.1:$P ok
expect sib connect:udp:127.0.0.1:$P EPERM
wait_event ".event==\"connect\" and .process.pid==$SIB and .protocol==\"udp\" and
	.credential.identity==\"payments\" and .credential.bound_process.pid==$OWNER" >/dev/null
pass "agent restarted: adopted the credential (named in events), the sibling still denied"
for _ in $(seq $((30 * SCALE))); do [ -s "$T/procbind.prom" ] && break; sleep 0.1; done
sleep 1.1 # one more write, after the udp denial
grep -qx 'procbind_up 1' $T/procbind.prom && grep -qx 'procbind_adopted 1' $T/procbind.prom &&
	grep -qE '^procbind_verdicts_total\{verdict="deny",reason="foreign_pid"\} [3-9]' $T/procbind.prom &&
	grep -qE '^procbind_map_capacity\{map="procs"\} [0-9]+' $T/procbind.prom &&
	grep -qE '^procbind_policy_info\{version="[0-9a-f]{32}",generation="2"' $T/procbind.prom &&
	grep -qE '^procbind_bpf_runs_total\{prog="pb_guard_connect4"\}' $T/procbind.prom ||
	{ cat $T/procbind.prom; fail "metrics file"; }
pass "metrics: $(grep -c '^procbind_' $T/procbind.prom) series in $T/procbind.prom, deny/foreign_pid counted across the restart"
# what the kernel decided while no agent ran was in the pinned ring buffer
sleep 0.3
ctl trail --dir "$AUDIT" --pid "$SIB" -o json | jq -e -s \
	'map(select(.event=="connect" and .daddr=="::1" and .reason=="foreign_pid")) | length==1' \
	>/dev/null || fail "the denial made while the agent was down is not in the trail"
grep -qh '"event":"gap".*"reason":"agent_down"' "$AUDIT"/seg-*.jsonl || fail "no agent_down gap"
"$BUILD/procbindctl" verify --dir "$AUDIT" >$T/v.out 2>&1 || { cat $T/v.out; fail "verify"; }
pass "the downtime's denial reached the trail; gap recorded; $(cat $T/v.out)"
ctl revoke "$ID" >/dev/null || fail "revoke after adoption"
wait_event ".event==\"credential_revoked\" and .credential.id==\"$ID\"" >/dev/null
pass "the adopted credential can be revoked"
