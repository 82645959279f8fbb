#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The bound process itself loses the credential when it execs another binary
# (exe_changed) or moves to another cgroup (foreign_cgroup).
. "$(dirname "$0")/lib.sh"
start_agent
start_server
P=$PORT
cp "$ACTOR" "$T/other_binary"

actor execer cgroup:$POD_A pidfile:$T/execer.pid wait:$T/go read:$T/tok1 connect:tcp:127.0.0.1:$P exec:$T/other_binary connect:tcp:::1:$P
E=$(started execer)
mint "$E" "$T/tok1" >/dev/null
touch $T/go
expect execer connect:tcp:127.0.0.1:$P ok
expect execer connect:tcp:::1:$P EPERM
wait_event ".event==\"exec\" and .process.pid==$E and (.filename|endswith(\"other_binary\"))" >/dev/null
ev=$(wait_event ".event==\"connect\" and .verdict==\"deny\" and .process.pid==$E")
echo "$ev" | jq -e '.reason=="exe_changed" and .process.exe_ino != .credential.bound_process.exe_ino' \
	>/dev/null || fail "event: $ev"
pass "exec of another binary: exe_changed"

actor mover cgroup:$POD_A pidfile:$T/mover.pid wait:$T/go2 read:$T/tok2 connect:udp:127.0.0.1:$P cgroup:$POD_B connect:tcp:::1:$P
M=$(started mover)
mint "$M" "$T/tok2" >/dev/null
touch $T/go2
expect mover connect:udp:127.0.0.1:$P ok
expect mover connect:tcp:::1:$P EPERM
ev=$(wait_event ".event==\"connect\" and .verdict==\"deny\" and .process.pid==$M")
echo "$ev" | jq -e '.reason=="foreign_cgroup" and (.process.cgroup|endswith("/podB")) and
	(.credential.bound_process.cgroup|endswith("/podA"))' >/dev/null || fail "event: $ev"
pass "cgroup move: foreign_cgroup"
