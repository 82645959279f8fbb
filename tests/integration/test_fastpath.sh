#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The connect hooks keep a holder's allows to its last 8 destinations (abi.h,
# struct pb_proc): a connect to one of them, with nothing changed, is allowed
# without deciding again. Whatever the allow depended on voids it at once. In each
# case below a holder connects to one destination every millisecond (its
# connects are kept allows), something changes, and no connect may be let
# through after the change has taken effect:
#   the credential is revoked; it expires; the holder moves to another
#   cgroup; the policy is reloaded without that destination in its scope;
#   the process the credential was minted for exits while its child, which
#   inherited it, keeps connecting.
# A process that never held a credential is allowed on the holder map alone;
# one that reads a token is judged from that read on.
PB_FILES=tracepoints # a foreign reader becomes a holder (test_guard.sh: the guard)
# its reloads are explicit (procbindctl reload), each counted: no file watch
PB_WATCH=off
. "$(dirname "$0")/lib.sh"
PB_POLICY=$T/policy.yaml
cp "$PB_SOURCE/tests/integration/policy.yaml" "$PB_POLICY"
start_agent
DEST=udp:127.0.0.1:$PORT
SLACK_NS=$((100000000 * SCALE)) # a connect decided before the change may return a little after it

now_ns() { date +%s%N; }
counter() { ctl status -o json | jq -r ".counters.$1"; }

# check NAME CHANGE_NS WHAT: the holder NAME was refused, and let through
# nothing after CHANGE_NS (+ slack)
check() {
	local line ok last refused
	wait_line "$1" untilrefused
	line=$(grep untilrefused "$T/$1.out")
	ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$line")
	last=$(sed -n 's/.* last_ok=\([0-9]*\).*/\1/p' <<<"$line")
	refused=$(sed -n 's/.* refused=\([0-9]*\).*/\1/p' <<<"$line")
	[ "$refused" != 0 ] || fail "$3: $1 was never refused ($line)"
	[ "$ok" -gt 10 ] || fail "$3: $1 was let through only $ok times before the change"
	[ "$last" -le $(($2 + SLACK_NS)) ] ||
		fail "$3: $1 was let through $(( (last - $2) / 1000000 )) ms after the change"
	pass "$3: $ok connects let through before, none after (refused $(( (refused - $2) / 1000000 )) ms after the change)"
}

# holder NAME [mint flags...]: a process in pod A looping on DEST, minted for
holder() {
	local name=$1; shift
	actor "$name" cgroup:$POD_A pidfile:$T/$name.pid wait:$T/$name.go untilrefused:$DEST sleep:$HOLD
	wait_file $T/$name.pid
	mint "$(cat $T/$name.pid)" "$T/$name.tok" "$@"
}

# 1. revoked
R0=$(counter allow_repeat)
ID=$(holder rev --ttl 10m)
touch $T/rev.go
sleep 0.5
ctl revoke "$ID" >/dev/null
check rev "$(now_ns)" "revoked"
[ "$(counter allow_repeat)" -gt $((R0 + 10)) ] || fail "the loop's connects were not kept allows"

# 1b. revoked, the holder connecting to 4 destinations in turn: it keeps an
#     allow for each (its last 8), and the revocation voids them all
R0=$(counter allow_repeat)
actor rev4 cgroup:$POD_A pidfile:$T/rev4.pid wait:$T/rev4.go "untilrefused:udp:127.0.0.1:$PORT+4" sleep:$HOLD
wait_file $T/rev4.pid
ID=$(mint "$(cat $T/rev4.pid)" "$T/rev4.tok" --ttl 10m)
touch $T/rev4.go
sleep 0.5
ctl revoke "$ID" >/dev/null
check rev4 "$(now_ns)" "revoked, 4 destinations in turn"
[ "$(counter allow_repeat)" -gt $((R0 + 10)) ] || fail "the 4 destinations' connects were not kept allows"

# 2. expired: the credential's expiry (wall clock, from the mint event)
ID=$(holder exp --ttl 2s)
touch $T/exp.go
EXP=$(match_events ".event==\"credential_minted\" and .credential.id==\"$ID\"" | jq -r '.credential.expires' | head -1)
[ -n "$EXP" ] && [ "$EXP" != null ] || fail "no expiry in the mint event of $ID"
check exp "$(date -d "$EXP" +%s%N)" "expired"

# 3. moved to another cgroup (pod B): foreign_cgroup
holder mov --ttl 10m >/dev/null
touch $T/mov.go
sleep 0.5
echo "$(cat $T/mov.pid)" >"$POD_B/cgroup.procs"
check mov "$(now_ns)" "moved to another cgroup"

# 4. the policy no longer scopes 127.0.0.0/8
holder pol --ttl 10m >/dev/null
touch $T/pol.go
sleep 0.5
sed -i '/cidr: 127.0.0.0\/8/d' "$PB_POLICY"
ctl reload >/dev/null
check pol "$(now_ns)" "reloaded without the destination in scope"
cp "$PB_SOURCE/tests/integration/policy.yaml" "$PB_POLICY"
ctl reload >/dev/null

# 5. the owner exits; its child inherited the credential (inherit: children)
actor parent cgroup:$POD_A pidfile:$T/parent.pid wait:$T/parent.go fork untilrefused:$DEST sleep:$HOLD
wait_file $T/parent.pid
PARENT=$(cat $T/parent.pid)
mint "$PARENT" "$T/parent.tok" --ttl 10m --inherit children >/dev/null
touch $T/parent.go
sleep 0.5
kill -9 "$PARENT"
wait_gone "$PARENT"
check parent "$(now_ns)" "the owner exited, its child holds what it inherited"

# 6. holds nothing, then reads a token: judged from the read on
actor thief cgroup:$POD_B pidfile:$T/thief.pid connect:$DEST wait:$T/thief.go read:$T/victim.tok connect:$DEST sleep:$HOLD
actor victim cgroup:$POD_A pidfile:$T/victim.pid sleep:$HOLD
wait_file $T/thief.pid; wait_file $T/victim.pid
expect thief "connect:$DEST" ok
mint "$(cat $T/victim.pid)" "$T/victim.tok" --ttl 10m >/dev/null
touch $T/thief.go
wait_line thief "read:"
sleep 0.2
[ "$(grep -c "connect:$DEST" "$T/thief.out")" = 2 ] || wait_line thief "connect:$DEST EPERM"
grep -q "connect:$DEST EPERM" "$T/thief.out" || { cat "$T/thief.out"; fail "the thief's connect after its read was let through"; }
pass "a process that held nothing was let through; after reading a token it is refused"

# 7. a kept allow is for its destination alone. Port P1 (bit 8 set) is in
#    scope and kept; P2 = P1 - 256, out of scope, once had the same key in
#    dests[] (a digest that dropped bit 8) and was let through undecided.
#    Each connect to P1 is a kept allow, then P2 is decided and refused.
P1=$(( (PORT & ~511) | 256 )); P2=$((P1 - 256))
sed -i "s|{cidr: 127.0.0.0/8, ports: any, protocol: any}|{cidr: 127.0.0.0/8, ports: $P1, protocol: any}|" "$PB_POLICY"
ctl reload >/dev/null
R0=$(counter allow_repeat)
actor kept cgroup:$POD_A pidfile:$T/kept.pid wait:$T/kept.go connect:udp:127.0.0.1:$P1 \
	connect:udp:127.0.0.1:$P1 connect:udp:127.0.0.1:$P1 connect:udp:127.0.0.1:$P2 sleep:$HOLD
wait_file $T/kept.pid
mint "$(cat $T/kept.pid)" "$T/kept.tok" --ttl 10m >/dev/null
touch $T/kept.go
wait_line kept "connect:udp:127.0.0.1:$P2"
[ "$(grep -c "connect:udp:127.0.0.1:$P1 ok" "$T/kept.out")" = 3 ] ||
	{ cat "$T/kept.out"; fail "the holder's connects to its scoped port $P1 were refused"; }
[ "$(counter allow_repeat)" -gt "$R0" ] || fail "the connects to $P1 were not kept allows"
grep -q "connect:udp:127.0.0.1:$P2 EPERM" "$T/kept.out" ||
	{ cat "$T/kept.out"; fail "port $P2, out of scope, was let through on the kept allow of port $P1"; }
pass "a kept allow for port $P1 let nothing else through: port $P2 (256 apart) was decided and refused"
cp "$PB_SOURCE/tests/integration/policy.yaml" "$PB_POLICY"
ctl reload >/dev/null
