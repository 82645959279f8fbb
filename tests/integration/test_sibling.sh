#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The bound process connects (TCP/UDP, IPv4/IPv6/v4-mapped, from a thread);
# a sibling in the same pod that read the token, and a process in another pod
# that read it, get EPERM; a bystander holding nothing is unaffected. Every
# denial is one event naming both processes.
# Foreign holders are what this test judges: the file guard would refuse
# their reads (test_guard.sh), so the open tracepoints record them instead.
PB_FILES=tracepoints
. "$(dirname "$0")/lib.sh"
start_agent
start_server
P=$PORT
NET="connect:tcp:127.0.0.1:$P connect:tcp:::1:$P connect:udp:127.0.0.1:$P sendto:udp:::1:$P connect:tcp:::ffff:127.0.0.1:$P sendto:udp:127.0.0.1:$P"

actor owner cgroup:$POD_A pidfile:$T/owner.pid wait:$T/go read:$T/tok read:$T/tok $NET thread-connect:tcp:127.0.0.1:$P connect:tcp:127.0.0.1:$P sleep:$HOLD
actor sibling cgroup:$POD_A pidfile:$T/sibling.pid wait:$T/go connect:udp:127.0.0.1:9 wait:$T/go2 read:$T/tok $NET sleep:$HOLD
actor otherpod cgroup:$POD_B pidfile:$T/otherpod.pid wait:$T/go2 read:$T/tok $NET sleep:$HOLD
actor bystander cgroup:$POD_A pidfile:$T/bystander.pid wait:$T/go2 sleep:300 $NET sleep:$HOLD
wait_file $T/owner.pid; wait_file $T/sibling.pid; wait_file $T/otherpod.pid; wait_file $T/bystander.pid
OWNER=$(cat $T/owner.pid); SIB=$(cat $T/sibling.pid); OTHER=$(cat $T/otherpod.pid)

ID=$(mint "$OWNER" "$T/tok" --ttl 10m --identity payments)
[ -n "$ID" ] || fail "mint printed no id"
[ "$(stat -c %a "$T/tok")" = 400 ] || fail "token file mode is not 0400"
grep -q '^pb1\.' "$T/tok" || fail "token does not start with pb1."
touch $T/go
# the sibling before it reads the token: holds nothing, not affected
expect sibling connect:udp:127.0.0.1:9 ok
for s in $NET; do expect owner "$s" ok; done
expect owner thread-connect:tcp:127.0.0.1:$P ok
touch $T/go2
for s in $NET; do expect sibling "$s" EPERM; expect otherpod "$s" EPERM; expect bystander "$s" ok; done

# opening the token twice is one credential
ev=$(wait_event ".event==\"credential_acquired\" and .process.pid==$OWNER")
[ "$(count_events ".event==\"credential_acquired\" and .process.pid==$OWNER and .held==1")" = 2 ] ||
	fail "owner's two opens should both show held=1"

ev=$(wait_event ".event==\"connect\" and .verdict==\"deny\" and .process.pid==$SIB")
echo "$ev" | jq -e --argjson o "$OWNER" --argjson s "$SIB" --arg id "$ID" '
	.reason=="foreign_pid" and .mode=="enforce" and .process.pid==$s and
	.process.comm=="pb_actor" and (.process.exe|endswith("pb_actor")) and
	(.process.cgroup|endswith("/podA")) and .process.start_time>0 and
	.credential.id==$id and .credential.identity=="payments" and .identity=="payments" and
	.credential.bound_process.pid==$o and (.credential.bound_process.cgroup|endswith("/podA")) and
	.credential.bound_process.start_time>0' >/dev/null || fail "sibling denial event: $ev"
pass "sibling denial event names both processes"

ev=$(wait_event ".event==\"connect\" and .verdict==\"deny\" and .process.pid==$OTHER")
echo "$ev" | jq -e --argjson o "$OWNER" '.reason=="foreign_cgroup" and
	(.process.cgroup|endswith("/podB")) and .credential.bound_process.pid==$o' >/dev/null ||
	fail "other-pod denial event: $ev"
pass "other-pod denial is foreign_cgroup and names both processes"

n=$(count_events ".event==\"connect\" and .verdict==\"deny\" and .process.pid==$SIB")
[ "$n" = 6 ] || fail "expected 6 sibling denial events (one per connect), got $n"
# 8 allowed connects to 4 destinations (tcp and udp, 127.0.0.1 and ::1; the
# v4-mapped one is 127.0.0.1): each process's first connect to a destination
# is recorded, the other 4 are counted
for _ in $(seq $((200 * SCALE))); do
	[ "$(grep -c " connect:tcp:127.0.0.1:$P ok$" $T/owner.out)" = 2 ] && break; sleep 0.05
done
[ "$(grep -c " connect:tcp:127.0.0.1:$P ok$" $T/owner.out)" = 2 ] || fail "owner's repeat connect never ran"
sleep 0.3 # one drain period, so any event it produced would be in $OUT
[ "$(count_events ".event==\"connect\" and .process.pid==$OWNER and .verdict==\"allow\"")" = 4 ] ||
	fail "expected 4 allow events for the owner (8 connects to 4 destinations)"
[ "$(count_events ".event==\"connect\" and (.process.pid|tostring)==\"$(cat $T/bystander.pid)\"")" = 0 ] ||
	fail "a process holding nothing must produce no connect events"
pass "one event per first allow to a destination (repeats counted); none for a process holding nothing"

ctl ps > $T/ps.txt
grep -A3 "^$SIB " $T/ps.txt | grep -q "FOREIGN (foreign_pid) bound to pid $OWNER" || { cat $T/ps.txt; fail "ps"; }
grep -A3 "^$OWNER " $T/ps.txt | grep -q "$ID self-bound" || { cat $T/ps.txt; fail "ps owner"; }
ctl ps -o json > $T/ps.json
jq -e --argjson s "$SIB" --argjson o "$OWNER" --arg id "$ID" '
	(.[] | select(.pid==$s) | .held[0] | .id==$id and .binding=="foreign" and
		.reason=="foreign_pid" and .bound_pid==$o) and
	(.[] | select(.pid==$o) | .held[0] | .binding=="self" and .reason=="ok")' $T/ps.json >/dev/null ||
	{ cat $T/ps.json; fail "ps -o json"; }
pass "ps shows self-bound and foreign credentials (table and JSON)"

ctl status -o json > $T/status.json
# the kernel counts 2 of the owner's 8 allowed connects as repeats of a
# recent destination (the thread's connect and the repeated one: each
# process keeps its last 8); the agent folds the rest it sees again
jq -e '.verdicts.deny.foreign_pid==6 and .verdicts.deny.foreign_cgroup==6 and
	.verdicts.allow.ok==8 and .counters.allow_repeat==2 and .counters.events_lost==0 and .credentials_live==1' $T/status.json >/dev/null ||
	{ cat $T/status.json; fail "status counters"; }
pass "status counters by verdict and reason"
