#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# BPF-LSM: where the kernel runs it, a process not entitled to a credential
# cannot open the token file at all (lsm/file_open, EPERM): the sibling and
# the other pod never get the bytes. Nor can it receive a descriptor of it
# (lsm/file_receive), map one it inherited (lsm/mmap_file), or attach to the
# bound process (lsm/ptrace_access_check: process_vm_readv, pidfd_getfd).
# The owner and an allowed child open it; a credential that still spreads (an
# fd kept across fork) is judged at connect as before; monitor mode lets the
# open through and reports it; the hooks survive kill -9 of the agent; --lsm
# off takes them away. The file guard is off here (the open tracepoints
# record holders), so what is refused is refused by BPF-LSM alone;
# test_guard.sh runs both together. Run by the kernel matrix's +lsm guest
# (tools/kmatrix.sh); elsewhere it says why not.
PB_FILES=tracepoints
# its reloads are explicit (procbindctl reload), each counted: no file watch
PB_WATCH=off
. "$(dirname "$0")/lib.sh"
LSMS=$(cat /sys/kernel/security/lsm 2>/dev/null || true)
[[ ,$LSMS, == *,bpf,* ]] ||
	skip "BPF-LSM is not active on this kernel (/sys/kernel/security/lsm: ${LSMS:-unreadable}); tools/kmatrix.sh 6.1+lsm runs this test"
P=$PORT
CAPS=$("$BUILD/tests/lint_manifests" "$PB_SOURCE" --print-caps) || fail "no documented capabilities"
cp "$PB_SOURCE/tests/integration/policy.yaml" $T/policy.yaml

WL=$T/wl.sock
PB_LSM=on PB_CAPS=$CAPS PB_POLICY=$T/policy.yaml start_agent --workload-socket "$WL"
ctl status -o json | jq -e '.credential_files == "lsm_refuse"' >/dev/null ||
	fail "status: $(ctl status -o json | jq -c .credential_files)"
grep -q "BPF-LSM refuses foreign opens" "$T/agent.log" || fail "the agent did not say it uses BPF-LSM"
pass "agent with --lsm on and only [$CAPS]: credential files are guarded at open"
start_server

actor owner cgroup:$POD_A pidfile:$T/owner.pid wait:$T/go read:$T/tok connect:tcp:127.0.0.1:$P \
	hold:$T/tok:$T/owner.fd wait:$T/fork fork read:$T/tok connect:tcp:127.0.0.1:$P mmapfd sleep:$HOLD
actor sib cgroup:$POD_A pidfile:$T/sib.pid wait:$T/go read:$T/tok connect:tcp:127.0.0.1:$P sleep:$HOLD
actor other cgroup:$POD_B pidfile:$T/other.pid wait:$T/go read:$T/tok sleep:$HOLD
wait_file $T/owner.pid; wait_file $T/sib.pid; wait_file $T/other.pid
OWNER=$(cat $T/owner.pid) SIB=$(cat $T/sib.pid) OTHER=$(cat $T/other.pid)
ID=$(mint "$OWNER" "$T/tok")
[ -n "$ID" ] || fail "mint"
touch $T/go
expect owner "read:$T/tok" ok
expect owner "connect:tcp:127.0.0.1:$P" ok
expect sib "read:$T/tok" EPERM
expect other "read:$T/tok" EPERM
# it never got the credential: it holds nothing, so its connect is its own
expect sib "connect:tcp:127.0.0.1:$P" ok
wait_event ".event==\"credential_open_refused\" and .process.pid==$SIB and .reason==\"foreign_pid\" and
	.verdict==\"deny\" and .credential.id==\"$ID\" and .credential.bound_process.pid==$OWNER" >/dev/null
wait_event ".event==\"credential_open_refused\" and .process.pid==$OTHER and .reason==\"foreign_cgroup\"" >/dev/null
[ "$(count_events ".event==\"credential_acquired\" and .process.pid==$SIB")" = 0 ] ||
	fail "the sibling acquired the credential"
pass "the sibling (foreign_pid) and the other pod (foreign_cgroup) cannot open the token; refusals recorded"

# the child the owner forks keeps what its parent held (not inherit
# children): its own open is refused, and its connect judged as before
touch $T/fork
wait_line owner "^[0-9]+ read:$T/tok EPERM"
CHILD=$(awk '/ read:.* EPERM$/ { print $1; exit }' $T/owner.out)
[ "$CHILD" != "$OWNER" ] || fail "the refused read was the owner's"
expect owner "connect:tcp:127.0.0.1:$P" ok # the owner's line came first
grep -q "^$CHILD connect:tcp:127.0.0.1:$P EPERM$" $T/owner.out ||
	{ cat $T/owner.out; fail "the child holding its parent's credential was not denied at connect"; }
pass "a forked child's open is refused, and what it inherited is denied at connect"
grep -q "^$CHILD mmapfd EPERM$" $T/owner.out || { cat $T/owner.out; fail "the child mapped the descriptor it inherited"; }
wait_event ".event==\"credential_mmap_refused\" and .process.pid==$CHILD and .hook==\"lsm\"" >/dev/null
pass "the child cannot mmap the token through the descriptor it inherited (lsm/mmap_file)"

# the bound process's memory and descriptors: no attach by a sibling
actor thief cgroup:$POD_A pidfile:$T/thief.pid memread:$T/owner.pid getfd:$T/owner.pid:$T/owner.fd sleep:$HOLD
wait_file $T/thief.pid
expect thief "memread:$T/owner.pid" EPERM
expect thief "getfd:$T/owner.pid:$T/owner.fd" EPERM
wait_event ".event==\"process_access_refused\" and .process.pid==$(cat $T/thief.pid) and .credential.bound_process.pid==$OWNER" >/dev/null
pass "process_vm_readv and pidfd_getfd of the bound process are refused (lsm/ptrace_access_check)"
# a descriptor passed over SCM_RIGHTS is dropped at receive
actor passer cgroup:$POD_A pidfile:$T/passer.pid wait:$T/go3 passfd:$T/pass.sock:$T/tok3 sleep:$HOLD
wait_file $T/passer.pid
[ -n "$(mint "$(cat $T/passer.pid)" "$T/tok3")" ] || fail "mint for the passer"
touch $T/go3
actor recv cgroup:$POD_A pidfile:$T/recv.pid recvfd:$T/pass.sock readfd sleep:$HOLD
expect recv "recvfd:$T/pass.sock" EBADMSG
wait_event ".event==\"credential_receive_refused\" and .process.pid==$(cat $T/recv.pid)" >/dev/null
pass "a descriptor passed over SCM_RIGHTS never reaches the sibling (lsm/file_receive)"

# procbindctl run receives its descriptor before it execs what the
# credential names (lsm/file_receive lets the bound process have it); the
# command reads it, a sibling's reopen through /proc is refused
(echo "$BASHPID" >"$POD_A/cgroup.procs" && exec "$BUILD/procbindctl" run --workload-socket "$WL" \
	-- "$ACTOR" pidfile:$T/fdown.pid read:/dev/fd/3 sleep:$HOLD) >$T/fdown.out 2>&1 &
PIDS+=($!)
FDOWN=$(started fdown)
expect fdown "read:/dev/fd/3" ok
actor fdsib cgroup:$POD_A read:/proc/$FDOWN/fd/3
expect fdsib "read:/proc/$FDOWN/fd/3" EPERM
pass "run --fd: the command reads its descriptor; a sibling's reopen of it is refused"

# around the bound process: procbindctl run --env puts a token in environ
mkdir -p $T/cwd
# (owner and sibling are a pod's processes: one uid, no capabilities; with
# fewer capabilities than its target, the sibling would be refused by the
# kernel's own capability check before BPF-LSM is asked)
(cd $T/cwd && echo "$BASHPID" >"$POD_A/cgroup.procs" && exec setpriv --inh-caps=-all --bounding-set=-all \
	-- "$BUILD/procbindctl" run --workload-socket "$WL" --env PROCBIND_TOKEN -- "$ACTOR" \
	pidfile:$T/envown.pid sleep:$HOLD) >$T/envown.out 2>&1 &
PIDS+=($!)
ENVOWN=$(started envown)
tr '\0' '\n' </proc/$ENVOWN/environ | grep -q '^PROCBIND_TOKEN=pb1\.' || fail "run --env: no token in its environment"
# a pod's process: the same uid, no CAP_SYS_ADMIN
(echo "$BASHPID" >"$POD_A/cgroup.procs" && exec setpriv --inh-caps=-all --bounding-set=-all -- \
	"$ACTOR" environ:$T/envown.pid:$T/env.sib) >$T/envsib.out 2>&1 || true
# (the kernel reports a refused /proc/PID/environ as EACCES)
grep -q " environ:$T/envown.pid:$T/env.sib EACCES$" $T/envsib.out || { cat $T/envsib.out; fail "a sibling read the bound process's environ"; }
[ ! -e $T/env.sib ] || fail "the sibling's copy of environ exists"
wait_event ".event==\"process_access_refused\" and .access==\"proc_read\" and .credential.bound_process.pid==$ENVOWN" >/dev/null
pass "a sibling cannot read /proc/BOUND/environ (read mode refused, process_access_refused access proc_read)"
# the node's CAP_SYS_ADMIN processes (the runtime joining /proc/PID/ns) pass
actor envroot environ:$T/envown.pid:$T/env.root
expect envroot "environ:$T/envown.pid:$T/env.root" ok
pass "a CAP_SYS_ADMIN process of the node still reads it (documented)"
# prlimit and a core-dumping signal from another process (here with every
# capability, CAP_SYS_RESOURCE included): refused; SIGTERM goes through
actor killer cgroup:$POD_A prlimit-core:$T/envown.pid signal:$T/envown.pid:ABRT \
	signal:$T/envown.pid:SEGV signal:$T/envown.pid:TERM
expect killer "prlimit-core:$T/envown.pid" EPERM
expect killer "signal:$T/envown.pid:ABRT" EPERM
expect killer "signal:$T/envown.pid:SEGV" EPERM
expect killer "signal:$T/envown.pid:TERM" ok
wait_gone "$ENVOWN"
[ -z "$(ls $T/cwd)" ] || { ls -l $T/cwd; fail "a core of the bound process was written"; }
wait_event ".event==\"process_access_refused\" and .access==\"rlimit\" and .credential.bound_process.pid==$ENVOWN" >/dev/null
wait_event ".event==\"process_access_refused\" and .access==\"signal\" and .credential.bound_process.pid==$ENVOWN" >/dev/null
pass "prlimit, SIGABRT and SIGSEGV from another process refused (no core written); SIGTERM delivered"
# a fanotify group of its own with a content mark on the token file
actor marker cgroup:$POD_A fanmark:$T/tok
expect marker "fanmark:$T/tok" EPERM
wait_event ".event==\"credential_notify_refused\" and .process.pid==$marker_PID" >/dev/null
pass "a foreign fanotify mark on a token file is refused (lsm/path_notify)"

# inherit children: the child may open it
actor inh cgroup:$POD_A pidfile:$T/inh.pid wait:$T/go2 read:$T/tok2 fork read:$T/tok2 \
	connect:tcp:127.0.0.1:$P sleep:$HOLD
wait_file $T/inh.pid
[ -n "$(mint "$(cat $T/inh.pid)" "$T/tok2" --inherit children)" ] || fail "mint --inherit children"
touch $T/go2
for _ in $(seq $((100 * SCALE))); do [ "$(grep -c " read:$T/tok2 " $T/inh.out)" = 2 ] && break; sleep 0.05; done
[ "$(grep -c " read:$T/tok2 ok$" $T/inh.out)" = 2 ] && [ "$(grep -c " connect:tcp:127.0.0.1:$P ok$" $T/inh.out)" = 1 ] ||
	{ cat $T/inh.out; fail "inherit children: parent and child"; }
pass "with --inherit children the owner's child opens the token and connects"

ctl status -o json | jq -e '.counters.lsm_refused >= 3 and .counters.lsm_open_allowed >= 3' >/dev/null ||
	fail "counters: $(ctl status -o json | jq -c .counters)"
pass "counted: $(ctl status -o json | jq -c '{r: .counters.lsm_refused, a: .counters.lsm_open_allowed}')"

# monitor mode: the open goes through, reported as such
sed -i 's/^mode: enforce/mode: monitor/' $T/policy.yaml
ctl reload >/dev/null || fail "reload to monitor"
actor mon cgroup:$POD_A pidfile:$T/mon.pid read:$T/tok sleep:$HOLD
wait_file $T/mon.pid
expect mon "read:$T/tok" ok
wait_event ".event==\"credential_acquired\" and .process.pid==$(cat $T/mon.pid) and .verdict==\"monitor\" and .hook==\"lsm\"" >/dev/null
pass "monitor mode: the open is let through and reported (verdict monitor)"
sed -i 's/^mode: monitor/mode: enforce/' $T/policy.yaml
ctl reload >/dev/null || fail "reload to enforce"

# kill -9: the pinned hook keeps refusing
stop_agent -9
[ -e "$PIN/link_pb_guard_file_open" ] || fail "the lsm/file_open link was not pinned"
actor late cgroup:$POD_A pidfile:$T/late.pid read:$T/tok sleep:$HOLD
wait_file $T/late.pid
expect late "read:$T/tok" EPERM
pass "agent killed: the token file is still refused"

# a new agent with --lsm off removes the hook; the tracepoint path remains
PB_LSM=off PB_POLICY=$T/policy.yaml start_agent
ctl status -o json | jq -e '.adopted and .credential_files == "tracepoint_observe"' >/dev/null ||
	fail "status after --lsm off: $(ctl status -o json | jq -c '{adopted, credential_files}')"
[ ! -e "$PIN/link_pb_guard_file_open" ] || fail "the lsm/file_open link is still pinned"
actor off cgroup:$POD_A pidfile:$T/off.pid read:$T/tok connect:tcp:127.0.0.1:$P sleep:$HOLD
wait_file $T/off.pid
expect off "read:$T/tok" ok
expect off "connect:tcp:127.0.0.1:$P" EPERM
pass "--lsm off: the hook is gone; the reader is denied at connect instead"

# the file guard and BPF-LSM together: the agent marks the token files for
# its guard (lsm/path_notify lets procbind's own processes mark)
stop_agent
PB_FILES=guard PB_LSM=on PB_POLICY=$T/policy.yaml start_agent
actor gown cgroup:$POD_A pidfile:$T/gown.pid wait:$T/ggo read:$T/gtok sleep:$HOLD
GOWN=$(started gown)
[ -n "$(mint "$GOWN" "$T/gtok")" ] || { cat $T/agent.log; fail "mint with the guard and BPF-LSM"; }
touch $T/ggo
expect gown "read:$T/gtok" ok
actor gsib cgroup:$POD_A read:$T/gtok
expect gsib "read:$T/gtok" EPERM
pass "with the guard and BPF-LSM: the agent marks the file, the owner reads it, a sibling is refused"
