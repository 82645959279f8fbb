#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# No channel around the bound process, on a kernel without BPF-LSM or Yama
# (this host): what procbindctl run hands over is a descriptor of a file
# the file guard refuses to everyone else (a sibling's reopen through
# /proc/PID/fd, pidfd_getfd, and a race against the documented curl form,
# with a listener that keeps every byte); a bound process writes no core
# that a same-uid sibling could read (the agent zeroes its hard core limit);
# a traced bound process gets no proof and cannot open or read its file
# (reason traced) unless its identity says allow_traced; the probe and
# status report kernel.core_pattern. test_lsm.sh tries the same from the
# kernel matrix's BPF-LSM row (environ, prlimit, signals, foreign marks).
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip "curl is not installed (the README's test command installs it)"
command -v setpriv >/dev/null || skip "setpriv is not installed (util-linux)"
WL=$T/wl.sock
RACES=${PB_RACES:-1000}
# one identity per stand-in pod: payments (podA) and debuggable (podB), which
# allows tracing
sed -e 's|cgroups: \["/pbtest-\*/\*\*"\]|cgroups: ["/pbtest-*/podA"]|' \
	"$PB_SOURCE/tests/integration/policy.yaml" >$T/policy.yaml
cat >>$T/policy.yaml <<'EOF'
  - name: debuggable
    owner: procbind-tests@example.invalid
    purpose: A workload its team debugs with a tracer attached.
    expires: 2099-01-01
    allow_traced: true
    match:
      cgroups: ["/pbtest-*/podB"]
    scope:
      - {cidr: 127.0.0.0/8, ports: any, protocol: any}
EOF
grep -q '"/pbtest-\*/podA"' $T/policy.yaml || fail "could not narrow the test policy"
"$BUILD/procbindctl" policy check $T/policy.yaml >/dev/null || fail "the test policy does not check"
PB_POLICY=$T/policy.yaml start_agent --workload-socket "$WL"
export PROCBIND_WORKLOAD_SOCKET=$WL
start_server
SINK=$((PORT + 1)) LEAK=$((PORT + 2))
"$ACTOR" sink "$SINK" "$T/sink.log" >"$T/sinkd.out" 2>&1 &
PIDS+=($!)
"$ACTOR" sink "$LEAK" "$T/leak.log" >"$T/leakd.out" 2>&1 &
PIDS+=($!)
wait_line sinkd "sinking"
wait_line leakd "sinking"

# --- the probe and status name kernel.core_pattern ---------------------------
CP=$(cat /proc/sys/kernel/core_pattern)
"$BUILD/procbindd" --probe >$T/probe.out 2>&1 || true
grep -qF "kernel.core_pattern" $T/probe.out && grep -qF -- "$CP" $T/probe.out ||
	{ cat $T/probe.out; fail "the probe does not report kernel.core_pattern"; }
ctl status -o json | jq -e --arg cp "$CP" '.core_dumps.core_pattern == $cp and
	(.core_dumps.bound_process_core == (if ($cp | startswith("|")) then "reaches_handler" else "not_written" end))' \
	>/dev/null || fail "status: $(ctl status -o json | jq -c .core_dumps)"
pass "--probe and status report kernel.core_pattern ($CP)"

# --- run hands over a guarded descriptor --------------------------------------
# run's process: procbindctl, then (the same process) the actor the
# credential names, which keeps descriptor 3 while a sibling tries it
(echo "$BASHPID" >"$POD_A/cgroup.procs" && exec "$BUILD/procbindctl" run \
	--format 'Authorization: Bearer %s' -- "$ACTOR" pidfile:$T/run.pid sleep:$HOLD) >$T/run.out 2>&1 &
PIDS+=($!)
RUN_PID=$!
RUNP=$(started run)
[ "$RUNP" = "$RUN_PID" ] || fail "run's process is $RUNP, not $RUN_PID"
TFILE=$(wait_event ".event==\"credential_minted\" and .credential.bound_process.pid==$RUNP" | jq -r .credential.file)
[ -f "$TFILE" ] && [ "$(stat -Lc %d:%i /proc/$RUNP/fd/3)" = "$(stat -c %d:%i "$TFILE")" ] ||
	fail "fd 3 of run's process ($(readlink /proc/$RUNP/fd/3)) is not its token file ($TFILE)"
[ "$(tr '\0' '\n' </proc/$RUNP/environ | grep -c '^PROCBIND_TOKEN=')" = 0 ] || fail "run put the token in the environment"
actor sib cgroup:$POD_A pidfile:$T/sib.pid leak:tcp:127.0.0.1:$LEAK:/proc/$RUNP/fd/3 \
	getfd:$T/run.pid:$T/three sendfile:tcp:127.0.0.1:$LEAK readfd sleep:$HOLD
echo 3 >$T/three
SIB=$(started sib)
expect sib "leak:tcp:127.0.0.1:$LEAK:/proc/$RUNP/fd/3" EPERM
expect sib "getfd:$T/run.pid:$T/three" ok
expect sib "sendfile:tcp:127.0.0.1:$LEAK" EPERM
expect sib "readfd" EPERM
wait_event ".event==\"credential_open_refused\" and .process.pid==$SIB and .reason==\"foreign_pid\" and
	.credential.bound_process.pid==$RUNP" >/dev/null
wait_event ".event==\"credential_read_refused\" and .process.pid==$SIB and .credential.bound_process.pid==$RUNP" >/dev/null
pass "a sibling's reopen of /proc/RUN/fd/3 and its pidfd_getfd copy are refused at open and read; both are events"
# the listener got the sibling's connections: its failure marker, no token
for _ in $(seq $((50 * SCALE))); do file_has $T/leak.log "leak-failed-1" && break; sleep 0.1; done
file_has $T/leak.log "leak-failed-1" || fail "the sibling's listener heard nothing: it proves nothing"
! grep -q "pb1\." $T/leak.log || { cat $T/leak.log; fail "the token reached the sibling's listener"; }
pass "no byte of the token reached the sibling's listener"
kill "$RUN_PID" 2>/dev/null || true

# the documented form, raced: a sibling reopens and takes fd 3 of each run
# process from its first moment until it has exited
for i in $(seq "$RACES"); do
	(echo "$BASHPID" >"$POD_A/cgroup.procs" && exec "$BUILD/procbindctl" run \
		--format 'Authorization: Bearer %s' -- curl -sS -m 5 -o /dev/null -H @/dev/fd/3 \
		"http://127.0.0.1:$SINK/race$i") >>$T/race.out 2>&1 &
	RP=$!
	(echo "$BASHPID" >"$POD_A/cgroup.procs" && exec "$ACTOR" snatchfd:$RP:3:tcp:127.0.0.1:$LEAK) \
		>>$T/snatch.out 2>&1 &
	SP=$!
	wait $RP || true
	wait $SP || true
done
SENT=$(grep -c "^GET /race[0-9]* " $T/sink.log || true)
BEARER=$(grep -c "^Authorization: Bearer pb1\." $T/sink.log || true)
read -r OPENED TAKEN REFUSED BYTES < <(awk '/ snatch / { for (i = 3; i <= NF; i++) { split($i, kv, "=");
	s[kv[1]] += kv[2] } } END { print s["opened"]+0, s["taken"]+0, s["refused"]+0, s["bytes"]+0 }' $T/snatch.out)
echo "races: $RACES; curl's requests with a token: $BEARER of $SENT; the sibling: opened $OPENED, took $TAKEN," \
	"refused $REFUSED, read $BYTES bytes of other files (procbindctl's own descriptor 3 before the hand-over:" \
	"a library its loader opened)"
# the tokens curl sent: none of them, nor any token, reached the sibling
grep -a "^Authorization: Bearer pb1\." $T/sink.log | sed 's/^Authorization: Bearer //; s/\r$//' >$T/sent.tokens
[ "$(wc -l <$T/sent.tokens)" = "$BEARER" ] || fail "could not read the tokens curl sent"
! grep -a -q "pb1\." $T/leak.log && ! grep -a -q -F -f $T/sent.tokens $T/leak.log ||
	fail "a token reached the racing sibling's listener"
[ "$BEARER" = "$RACES" ] || { tail -5 $T/race.out; fail "curl sent its token in $BEARER of $RACES runs"; }
[ "$REFUSED" -gt 0 ] || fail "the racing sibling was never refused: the race never reached the file"
pass "$RACES races against run --fd 3 -- curl -H @/dev/fd/3: curl sent its token every time, no byte of it reached the sibling"

# --- core dumps ---------------------------------------------------------------
# owner and sibling: root without capabilities, one uid (a pod's processes)
nocaps() { setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- "$@"; }
mkdir -p $T/cwd-owner $T/cwd-plain
(cd $T/cwd-owner && echo "$BASHPID" >"$POD_A/cgroup.procs" && exec setpriv --inh-caps=-all \
	--bounding-set=-all -- "$ACTOR" pidfile:$T/core.pid sleep:$HOLD) >$T/core.out 2>&1 &
PIDS+=($!)
(cd $T/cwd-plain && echo "$BASHPID" >"$POD_A/cgroup.procs" && exec setpriv --inh-caps=-all \
	--bounding-set=-all -- "$ACTOR" pidfile:$T/plain.pid sleep:$HOLD) >$T/plain.out 2>&1 &
PIDS+=($!)
CORE=$(started core) PLAIN=$(started plain)
[ -n "$(mint "$CORE" "$T/core.tok")" ] || fail "mint for the core owner"
grep -q "^Max core file size *0 *0 " /proc/$CORE/limits || { cat /proc/$CORE/limits; fail "the bound process's core limit is not 0"; }
(echo "$BASHPID" >"$POD_A/cgroup.procs" && exec setpriv --inh-caps=-all --bounding-set=-all -- \
	"$ACTOR" prlimit-core:$T/core.pid signal:$T/core.pid:ABRT prlimit-core:$T/plain.pid \
	signal:$T/plain.pid:ABRT) >$T/csib.out 2>&1 || true
grep -q " prlimit-core:$T/core.pid EPERM$" $T/csib.out || { cat $T/csib.out; fail "the sibling raised the bound process's core limit"; }
grep -q " signal:$T/core.pid:ABRT ok$" $T/csib.out || { cat $T/csib.out; fail "SIGABRT was not sent"; }
wait_gone "$CORE"
if [[ $CP == \|* ]]; then
	skip_core="kernel.core_pattern is a pipe ($CP): the kernel does not apply RLIMIT_CORE to it"
else
	grep -q " prlimit-core:$T/plain.pid ok$" $T/csib.out || { cat $T/csib.out; fail "prlimit on the unbound process"; }
	wait_gone "$PLAIN"
	for _ in $(seq $((50 * SCALE))); do [ -n "$(ls $T/cwd-plain)" ] && break; sleep 0.1; done
	[ -n "$(ls $T/cwd-plain)" ] || fail "the unbound process wrote no core either: this machine writes no cores, so the test shows nothing"
	[ -z "$(ls $T/cwd-owner)" ] || { ls -l $T/cwd-owner; fail "the bound process wrote a core the sibling can read"; }
	pass "a same-uid sibling's prlimit (EPERM) and SIGABRT leave no core of the bound process (an unbound one dumps $(ls $T/cwd-plain))"
fi
[ -z "${skip_core:-}" ] || echo "SKIP (part): $skip_core"

# --- a traced owner -----------------------------------------------------------
URL=https://svc.example/pay
traced_case() { # NAME POD IDENTITY: owner traced, then not
	local n=$1 pod=$2 ident=$3
	actor $n cgroup:$pod pidfile:$T/$n.pid wl-token:$WL:$T/$n.wl wait:$T/$n.go1 read:$T/$n.tok \
		wl-proof:$WL:$T/$n.wl:GET:$URL:$T/$n.p1 wait:$T/$n.go2 read:$T/$n.tok \
		wl-proof:$WL:$T/$n.wl:GET:$URL:$T/$n.p2 sleep:$HOLD
	local o
	o=$(started $n)
	CASE_PID=
	expect $n "wl-token:$WL:$T/$n.wl" ok
	[ -n "$(mint "$o" "$T/$n.tok" --identity "$ident")" ] || fail "mint for $n"
	actor ${n}tr cgroup:$pod pidfile:$T/${n}tr.pid trace:$T/$n.pid wait:$T/$n.untrace
	started ${n}tr >/dev/null
	expect ${n}tr "trace:$T/$n.pid" ok
	grep -q "^TracerPid:[[:space:]]*$(cat $T/${n}tr.pid)$" /proc/$o/status || fail "$n is not traced"
	touch $T/$n.go1
	wait_line $n "wl-proof:$WL:$T/$n.wl:GET:$URL:$T/$n.p1 "
	touch $T/$n.untrace
	wait_gone "$(cat $T/${n}tr.pid)"
	touch $T/$n.go2
	wait_line $n "wl-proof:$WL:$T/$n.wl:GET:$URL:$T/$n.p2 "
	CASE_PID=$o
}
traced_case tr $POD_A payments
OWN=$CASE_PID
grep -q "^$OWN read:$T/tr.tok EPERM$" $T/tr.out && grep -q "^$OWN wl-proof:$WL:$T/tr.wl:GET:$URL:$T/tr.p1 EPERM$" $T/tr.out ||
	{ cat $T/tr.out; fail "the traced owner read its file or got a proof"; }
[ ! -s $T/tr.p1 ] || fail "a proof was written for the traced owner"
wait_event ".event==\"credential_open_refused\" and .process.pid==$OWN and .reason==\"traced\"" >/dev/null
wait_event ".event==\"proof_refused\" and .process.pid==$OWN and .reason==\"traced\"" >/dev/null
pass "a traced owner gets no proof and cannot open its file (reason traced, both events)"
[ "$(grep -c "^$OWN read:$T/tr.tok ok$" $T/tr.out)" = 1 ] && grep -q "^$OWN wl-proof:$WL:$T/tr.wl:GET:$URL:$T/tr.p2 ok$" $T/tr.out ||
	{ cat $T/tr.out; fail "the owner, no longer traced, was refused"; }
pass "once its tracer has gone, the owner opens its file and gets a proof"
traced_case dbg $POD_B debuggable
DBG=$CASE_PID
[ "$(grep -c "^$DBG read:$T/dbg.tok ok$" $T/dbg.out)" = 2 ] && [ "$(grep -c "^$DBG wl-proof:.* ok$" $T/dbg.out)" = 2 ] ||
	{ cat $T/dbg.out; fail "allow_traced: the traced owner was refused"; }
pass "an identity with allow_traced: true keeps its traced owner's opens and proofs"
