#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# After the bound process exits, a new process that gets the same PID (forced
# with clone3 set_tid) and reads the token is denied: pid_reused.
# Foreign holders are what this test judges: the file guard would refuse
# their reads (test_guard.sh), so the open tracepoints record them instead.
PB_FILES=tracepoints
. "$(dirname "$0")/lib.sh"
start_agent
start_server
P=$PORT

actor owner cgroup:$POD_A pidfile:$T/owner.pid wait:$T/go read:$T/tok connect:tcp:127.0.0.1:$P
OWNER=$(started owner)
ID=$(mint "$OWNER" "$T/tok")
touch $T/go
expect owner connect:tcp:127.0.0.1:$P ok
wait "$owner_PID" 2>/dev/null || true
wait_gone "$OWNER"

reuse_pid reuser "$OWNER" cgroup:$POD_A read:$T/tok connect:tcp:127.0.0.1:$P sendto:udp:::1:$P
expect reuser connect:tcp:127.0.0.1:$P EPERM
expect reuser sendto:udp:::1:$P EPERM
ev=$(wait_event ".event==\"connect\" and .verdict==\"deny\" and .process.pid==$OWNER")
echo "$ev" | jq -e --argjson o "$OWNER" '.reason=="pid_reused" and .credential.bound_process.pid==$o and
	.process.start_time != .credential.bound_process.start_time' >/dev/null || fail "event: $ev"
pass "PID reuse: same pid, other start time, pid_reused"
wait_event ".event==\"credential_ended\" and .reason==\"owner_exited\" and .credential.id==\"$ID\"" >/dev/null
pass "the agent reports the credential ended with its owner"
