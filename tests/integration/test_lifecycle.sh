#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Expiry and revocation deny the bound process itself; every bad input is a
# clear error and a non-zero exit, and the agent keeps running.
. "$(dirname "$0")/lib.sh"
start_agent
start_server
P=$PORT

# exp's credential lives TTL seconds: valid at its first connect, expired
# at its second. Both are stretched on a slow guest, like every wait, and
# it is minted last, so that nothing slow runs between the mint and the read.
TTL=$((2 * SCALE))
actor exp cgroup:$POD_A pidfile:$T/exp.pid wait:$T/go read:$T/tok1 connect:tcp:127.0.0.1:$P \
	sleep:$((TTL * 1000 + 500)) connect:tcp:::1:$P
actor rev cgroup:$POD_A pidfile:$T/rev.pid wait:$T/go read:$T/tok2 connect:tcp:127.0.0.1:$P wait:$T/revoked connect:tcp:::1:$P
wait_file $T/exp.pid; wait_file $T/rev.pid
ID2=$(mint "$(cat $T/rev.pid)" "$T/tok2")
mint "$(cat $T/exp.pid)" "$T/tok1" --ttl ${TTL}s >/dev/null
touch $T/go
expect exp connect:tcp:127.0.0.1:$P ok
expect rev connect:tcp:127.0.0.1:$P ok
ctl revoke "$ID2" >/dev/null || fail "revoke failed"
touch $T/revoked
expect rev connect:tcp:::1:$P EPERM
wait_event ".event==\"connect\" and .reason==\"revoked\" and .credential.id==\"$ID2\"" >/dev/null
pass "revoked credential: the bound process is denied (revoked)"
expect exp connect:tcp:::1:$P EPERM
wait_event ".event==\"connect\" and .reason==\"expired\"" >/dev/null
wait_event ".event==\"credential_ended\" and .reason==\"expired\"" >/dev/null
pass "expired credential: the bound process is denied (expired)"

# bad inputs: each a clear message and a non-zero exit
check_error() {
	local want=$1; shift
	if "$@" >$T/err.out 2>&1; then cat $T/err.out; fail "should have failed: $*"; fi
	grep -q "$want" $T/err.out || { cat $T/err.out; fail "message lacks '$want': $*"; }
	pass "refused: $* -> $(head -1 $T/err.out)"
}
check_error "no such process: pid 4000000" ctl mint --pid 4000000 --identity payments
check_error "pid must be a host PID" ctl mint --pid abc --identity payments
check_error "identity is required" ctl mint --pid $$
check_error "exceeds identity 'payments' max_ttl" ctl mint --pid $$ --ttl 48h --identity payments
check_error "ttl must be a duration" ctl mint --pid $$ --ttl soon --identity payments
check_error "inherit must be none or children" ctl mint --pid $$ --inherit all --identity payments
check_error "identity" ctl mint --pid $$ --identity 'bad name'
check_error "not in the policy in force" ctl mint --pid $$ --identity nobody
check_error "does not carry identity 'payments' (it carries none)" ctl mint --pid $$ --identity payments
actor keeper cgroup:$POD_A pidfile:$T/keeper.pid sleep:$HOLD
wait_file $T/keeper.pid
check_error "create token file" ctl mint --pid "$(cat $T/keeper.pid)" --out "$T/tok1" --identity payments
check_error "unknown credential" ctl revoke 0123456789abcdef
check_error "already revoked" ctl revoke "$ID2"
check_error "16 hex digits" ctl revoke nothex
check_error "unknown command .frobnicate." ctl frobnicate
check_error "cannot reach the agent" "$BUILD/procbindctl" --socket $T/nope.sock status
# the agent checks what procbindctl checked, for any other client
for raw in 'mint\npid=abc\nidentity=payments\n\n' 'mint\npid=1\nttl=soon\nidentity=payments\n\n' \
	'mint\npid=1\ninherit=all\nidentity=payments\n\n' 'revoke\nid=nothex\n\n' \
	'hello\n\n' 'mint\npid=1\n' 'mint\npid=1\npid=2\n\n' 'status\nformat=json\nbogus=1\n\n' '\n'; do
	"$ACTOR" ctlraw "$SOCK" "$raw" > $T/raw.out
	grep -q '^error: ' $T/raw.out || { cat $T/raw.out; fail "malformed request '$raw' not refused"; }
	pass "malformed request refused: $(head -1 $T/raw.out)"
done
kill -0 "$AGENT_PID" || fail "agent died"
ctl status >/dev/null || fail "agent no longer answers"
pass "agent still serving after bad input"

# clients that send half a request and wait hold only their own slots: the
# agent answers others meanwhile (it once read each client to the end, for
# up to a second, before serving the next)
for i in 1 2 3; do
	"$ACTOR" ctlraw "$SOCK" 'status\n' $T/release >$T/hold$i.out 2>&1 &
	PIDS+=($!)
done
for i in 1 2 3; do wait_line hold$i '^sent'; done
timeout 10 "$BUILD/procbindctl" --socket "$SOCK" status >/dev/null ||
	fail "the agent did not answer while three clients held half a request"
"$ACTOR" ctlraw "$SOCK" 'health\n\n' >$T/raw.out
grep -q '^ok' $T/raw.out || { cat $T/raw.out; fail "health while clients held"; }
touch $T/release
for i in 1 2 3; do
	for _ in $(seq $((100 * SCALE))); do file_has $T/hold$i.out '^error: ' && break; sleep 0.05; done
	grep -qE '^error: (request not terminated|timed out)' $T/hold$i.out || { cat $T/hold$i.out; fail "held client $i"; }
done
pass "three clients holding half a request: others served meanwhile; each then told what was wrong"

# a broken policy: the agent refuses to start, with the position
printf 'mode: block\n' > $T/bad.yaml
if "$BUILD/procbindd" --policy $T/bad.yaml --state-dir $T/s2 --socket $T/s2.sock 2>$T/bad.log; then
	fail "agent started with a bad policy"; fi
grep -q "bad.yaml:1:7: mode: 'block' must be enforce or monitor" $T/bad.log || { cat $T/bad.log; fail "policy error"; }
"$BUILD/procbindctl" policy check $T/bad.yaml 2>/dev/null && fail "policy check accepted a bad policy"
"$BUILD/procbindctl" policy check "$PB_SOURCE/deploy/policy.yaml" >/dev/null || fail "shipped policy"
pass "bad policy refused with file:line:col"
