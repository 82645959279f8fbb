#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A forked child inherits the credential: denied by default, allowed when it
# was minted with --inherit children, and denied (owner_exited) once the
# bound process is gone.
. "$(dirname "$0")/lib.sh"
start_agent
start_server
P=$PORT

actor plain cgroup:$POD_A pidfile:$T/plain.pid wait:$T/go read:$T/tok1 connect:tcp:127.0.0.1:$P fork connect:tcp:::1:$P
wait_file $T/plain.pid
ID1=$(mint "$(cat $T/plain.pid)" "$T/tok1")
touch $T/go
expect plain connect:tcp:127.0.0.1:$P ok
expect plain connect:tcp:::1:$P EPERM
ev=$(wait_event ".event==\"credential_inherited\" and .credential.id==\"$ID1\"")
ev=$(wait_event ".event==\"connect\" and .verdict==\"deny\" and .credential.id==\"$ID1\"")
echo "$ev" | jq -e --argjson o "$(cat $T/plain.pid)" '.reason=="foreign_pid" and
	.process.ppid==$o and .credential.bound_process.pid==$o' >/dev/null || fail "child event: $ev"
pass "forked child without inherit: foreign_pid, event names parent as bound process"

actor inh cgroup:$POD_A pidfile:$T/inh.pid wait:$T/go2 read:$T/tok2 fork connect:tcp:::1:$P
wait_file $T/inh.pid
mint "$(cat $T/inh.pid)" "$T/tok2" --inherit children >/dev/null
touch $T/go2
expect inh connect:tcp:::1:$P ok

actor orphan cgroup:$POD_A pidfile:$T/orphan.pid wait:$T/go3 read:$T/tok3 forkexit pidfile:$T/child.pid wait:$T/go4 connect:udp:127.0.0.1:$P
OP=$(started orphan)
mint "$OP" "$T/tok3" --inherit children >/dev/null
touch $T/go3
wait_file $T/child.pid
for _ in $(seq $((100 * SCALE))); do kill -0 "$OP" 2>/dev/null || break; sleep 0.05; done
kill -0 "$OP" 2>/dev/null && fail "parent did not exit"
touch $T/go4
expect orphan connect:udp:127.0.0.1:$P EPERM
wait_event ".event==\"connect\" and .reason==\"owner_exited\" and .credential.bound_process.pid==$OP" >/dev/null
pass "inherited credential dies with its owner: owner_exited"
