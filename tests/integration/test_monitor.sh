#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --mode monitor lets every connect through and still emits each event.
. "$(dirname "$0")/lib.sh"
start_agent --mode monitor
start_server
P=$PORT
NET="connect:tcp:127.0.0.1:$P connect:tcp:::1:$P connect:udp:127.0.0.1:$P sendto:udp:::1:$P"

actor owner cgroup:$POD_A pidfile:$T/owner.pid wait:$T/go read:$T/tok sleep:$HOLD
actor sibling cgroup:$POD_A pidfile:$T/sibling.pid wait:$T/go2 read:$T/tok $NET sleep:$HOLD
wait_file $T/owner.pid; wait_file $T/sibling.pid
OWNER=$(cat $T/owner.pid); SIB=$(cat $T/sibling.pid)
mint "$OWNER" "$T/tok" >/dev/null
touch $T/go
wait_line owner "read:"
touch $T/go2
for s in $NET; do expect sibling "$s" ok; done
sleep 0.3
n=$(count_events ".event==\"connect\" and .process.pid==$SIB and .verdict==\"monitor\" and .reason==\"foreign_pid\" and .mode==\"monitor\" and .credential.bound_process.pid==$OWNER")
[ "$n" = 4 ] || fail "expected 4 monitor events naming both processes, got $n"
pass "monitor: 4 connects allowed, 4 events with verdict monitor"
ctl status | grep -q "^mode: *monitor" || fail "status does not show monitor mode"
ctl status -o json | jq -e '.verdicts.monitor.foreign_pid==4 and .verdicts.deny.foreign_pid==0' >/dev/null ||
	fail "status counters in monitor mode"
pass "status shows monitor mode and counts"
