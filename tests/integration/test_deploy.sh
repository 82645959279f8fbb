#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The deployment's capability set works: the agent runs with exactly the
# documented capabilities (bounding set), mints for a process of another uid
# (chown, /proc of another user), which reads its token through the file
# guard, a sibling's read is refused, and health says ready.
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
P=$PORT
CAPS=$("$BUILD/tests/lint_manifests" "$PB_SOURCE" --print-caps) || fail "no documented capabilities"
mkdir -p "$CG" "$POD_A" "$POD_B"
PB_CAPS=$CAPS start_agent
EFF=$(awk '/^CapEff/ {print $2}' /proc/$AGENT_PID/status)
pass "agent running with bounding set [$CAPS] (CapEff $EFF)"
start_server
# the owner runs as nobody: its token file must be chowned to it, and it
# writes its pidfile into $T, which must be writable to it before it starts
chmod 0777 "$T"
(echo "$BASHPID" >"$POD_A/cgroup.procs" && exec setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$ACTOR" pidfile:$T/owner.pid wait:$T/go read:$T/tok connect:tcp:127.0.0.1:$P sleep:$HOLD) \
	>"$T/owner.out" 2>&1 &
PIDS+=($!)
wait_file $T/owner.pid
actor sib cgroup:$POD_A wait:$T/go read:$T/tok connect:tcp:127.0.0.1:$P sleep:$HOLD
[ -n "$(mint "$(cat $T/owner.pid)" "$T/tok")" ] || { cat "$T/agent.log"; fail "mint with the documented capabilities"; }
[ "$(stat -c %u "$T/tok")" = 65534 ] || fail "the token file is not owned by the process's uid"
touch $T/go
expect owner "read:$T/tok" ok
expect owner connect:tcp:127.0.0.1:$P ok
expect sib "read:$T/tok" EPERM
wait_event ".event==\"credential_open_refused\" and .reason==\"foreign_pid\" and .credential.bound_process.uid==65534 and
	(.credential.bound_process.exe|endswith(\"pb_actor\"))" >/dev/null ||
	fail "attribution of another uid's process"
ctl health >/dev/null || fail "health"
pass "with exactly [$CAPS]: minted for uid 65534 (token chowned, exe read), its read let through by the guard, the sibling's refused, healthy"
