#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The workload socket: a process in a stand-in pod mints a credential for
# itself and gets proofs, which verify offline (and fail altered, replayed or
# for another request). A sibling asking for a proof under the owner's token,
# one that got the token's bytes out of band, and a request whose sender
# exited and whose PID was taken meanwhile (clone3 set_tid) get nothing.
# Malformed, oversized and silent clients get an error while the socket keeps
# serving others. procbindctl run gives curl its credential (it connects with
# it); a forked child of a run process is denied at connect. The trail shows
# each proof under its credential.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip "curl is not installed (the README's test command installs it)"
WL=$T/wl.sock
start_agent --workload-socket "$WL"
export PROCBIND_WORKLOAD_SOCKET=$WL
PK=$T/state/node.pub
URL=https://svc.example/pay
[ "$(stat -c %a "$WL")" = 666 ] || fail "the workload socket is not open to every user"
[ "$(ctl pubkey)" = "$("$BUILD/procbindctl" pubkey --file "$PK")" ] || fail "pubkey from the socket and from node.pub differ"
pass "workload socket up; procbindctl pubkey matches node.pub"

# --- self-service: a credential and proofs, for the process itself ---------
actor owner cgroup:$POD_A pidfile:$T/owner.pid wl-token:$WL:$T/tok wl-proof:$WL:$T/tok:POST:$URL:$T/p1 \
	wl-proof:$WL:$T/tok:GET:$URL:$T/p2 wait:$T/go sleep:$HOLD
OWNER=$(started owner)
expect owner "wl-token:$WL:$T/tok" ok
expect owner "wl-proof:$WL:$T/tok:POST:$URL:$T/p1" ok
expect owner "wl-proof:$WL:$T/tok:GET:$URL:$T/p2" ok
TOK=$(cat $T/tok) P1=$(cat $T/p1)
ID=$(awk '/wl-credential/ {print $3}' $T/owner.out)
"$BUILD/procbindctl" verify-token "$TOK" --pubkey "$PK" | jq -e --argjson o "$OWNER" --arg id "$ID" \
	'.pid==$o and .id==$id and .identity=="payments"' >/dev/null || fail "verify-token"
claims=$("$BUILD/procbindctl" verify-proof "$P1" --token "$TOK" --method POST --url "$URL" --pubkey "$PK" \
	--replay-cache $T/replay) || fail "verify-proof of a fresh proof"
echo "$claims" | jq -e --argjson o "$OWNER" --arg id "$ID" '.htm=="POST" and .pb.pid==$o and .pb.cred==$id and
	(.exp - .iat) <= 60 and (.jti|length)>=16' >/dev/null || fail "proof claims: $claims"
pass "the owner minted for itself over the socket; its token and proof verify offline"
refused() { # what verify-proof says of a bad proof
	local out
	out=$("$BUILD/procbindctl" verify-proof "$@" --pubkey "$PK" 2>&1) && fail "accepted: $*"
	echo "$out"
}
refused "$P1" --token "$TOK" --method POST --url "$URL" --replay-cache $T/replay | grep -q replayed || fail "replay"
refused "$(cat $T/p2)" --token "$TOK" --method GET --url "$URL/other" | grep -q wrong_url || fail "other URL"
refused "$(cat $T/p2)" --token "$TOK" --method POST --url "$URL" | grep -q wrong_method || fail "other method"
for i in 20 80 150; do # one altered byte: in the header, the claims, the signature
	bad=$(echo "$P1" | awk -v i=$i '{ c = substr($0, i, 1); r = (c == "A") ? "B" : "A";
		print substr($0, 1, i - 1) r substr($0, i + 1) }')
	refused "$bad" --token "$TOK" --method POST --url "$URL" >/dev/null
	badtok=$(echo "$TOK" | awk -v i=$i '{ c = substr($0, i, 1); r = (c == "A") ? "B" : "A";
		print substr($0, 1, i - 1) r substr($0, i + 1) }')
	"$BUILD/procbindctl" verify-token "$badtok" --pubkey "$PK" >/dev/null 2>&1 && fail "altered token accepted"
done
pass "a replayed proof, another URL or method, and one altered byte are refused"
ev=$(wait_event ".event==\"proof_issued\" and .process.pid==$OWNER and .method==\"POST\"")
echo "$ev" | jq -e --arg id "$ID" '.credential.id==$id and .url=="'"$URL"'" and (.jti|length)>0' >/dev/null ||
	fail "proof_issued event: $ev"
wait_event ".event==\"credential_minted\" and .via==\"workload\" and .credential.id==\"$ID\"" >/dev/null

# --- the owner's token in another process's hands ---------------------------
actor sib cgroup:$POD_A pidfile:$T/sib.pid wl-proof:$WL:$T/tok:GET:$URL:$T/p3 sleep:$HOLD
expect sib "wl-proof:$WL:$T/tok:GET:$URL:$T/p3" EPERM
grep -q "refused (foreign_pid)" $T/sib.out || fail "sibling: $(cat $T/sib.out)"
actor other cgroup:$POD_B pidfile:$T/other.pid wl-proof:$WL:$T/tok:GET:$URL:$T/p4 sleep:$HOLD
expect other "wl-proof:$WL:$T/tok:GET:$URL:$T/p4" EPERM
[ ! -e $T/p3 ] && [ ! -e $T/p4 ] || fail "a proof was written for a process the token is not bound to"
ev=$(wait_event ".event==\"proof_refused\" and .process.pid==$(cat $T/sib.pid)")
echo "$ev" | jq -e --argjson o "$OWNER" '.reason=="foreign_pid" and .credential.bound_process.pid==$o' >/dev/null ||
	fail "proof_refused event: $ev"
pass "a sibling and another pod holding the owner's token bytes get no proof (foreign_pid, foreign_cgroup)"

# --- who is not in an identity -----------------------------------------------
actor nobody pidfile:$T/nobody.pid wl-token:$WL:$T/tok5 sleep:$HOLD
expect nobody "wl-token:$WL:$T/tok5" EPERM
grep -q "carries no identity" $T/nobody.out || fail "$(cat $T/nobody.out)"
pass "a process that carries no identity gets no credential"

# --- a PID race: the requester exits, its PID is taken, then the agent reads -
kill -STOP "$AGENT_PID"
actor racer cgroup:$POD_A pidfile:$T/racer.pid wl-send-exit:$WL
RACER=$(started racer)
wait_line racer "wl-sent"
wait_gone "$RACER"
reuse_pid reuser "$RACER" sleep:$HOLD
kill -CONT "$AGENT_PID"
sleep $((SCALE))
grep -qE "workload: (the process that asked has exited|pid [0-9]+ is not the process that asked)" "$T/agent.log" ||
	{ tail "$T/agent.log"; fail "the PID race was not refused"; }
[ "$(count_events ".event==\"credential_minted\" and .credential.bound_process.pid==$RACER")" = 0 ] ||
	fail "a credential was minted for the process that reused the PID"
pass "a request whose sender exited and whose PID was reused gets nothing"

# --- bad clients do not stall the socket -------------------------------------
actor silent pidfile:$T/silent.pid wl-silent:$WL:$((3000 * SCALE)) sleep:$HOLD
started silent >/dev/null
"$ACTOR" ctlraw "$WL" 'no such thing\n\n' >$T/bad1.out
grep -q "^error: unknown request" $T/bad1.out || fail "malformed: $(cat $T/bad1.out)"
head -c 9000 /dev/zero | tr '\0' 'a' >$T/big
"$ACTOR" ctlraw "$WL" "token\nstart_time=1\nidentity=$(cat $T/big)\n\n" >$T/bad2.out
grep -q "^error: request too large" $T/bad2.out || fail "oversized: $(cat $T/bad2.out)"
actor owner2 cgroup:$POD_A pidfile:$T/owner2.pid wl-token:$WL:$T/tok6 sleep:$HOLD
expect owner2 "wl-token:$WL:$T/tok6" ok # while the silent client holds its connection
wait_line silent "wl-reply"
grep -q "wl-reply error: timed out" $T/silent.out || fail "silent: $(cat $T/silent.out)"
pass "malformed, oversized and silent clients get an error; others are served meanwhile"

# --- procbindctl run ---------------------------------------------------------
start_server
SINK=$((PORT + 1))
"$ACTOR" sink "$SINK" "$T/sink.log" >"$T/sinkd.out" 2>&1 &
PIDS+=($!)
wait_line sinkd "sinking"
(echo "$BASHPID" >"$POD_A/cgroup.procs" && exec "$BUILD/procbindctl" run --fd 3 \
	--format 'Authorization: Bearer %s' -- curl -sS -m 5 -H @/dev/fd/3 "http://127.0.0.1:$SINK/run") \
	>$T/run.out 2>&1 || true
for _ in $(seq $((100 * SCALE))); do file_has $T/sink.log "Bearer pb1\." && break; sleep 0.05; done
grep -q "Bearer pb1\." $T/sink.log || { cat $T/run.out $T/sink.log; fail "curl under run did not send its token"; }
ev=$(wait_event ".event==\"credential_minted\" and .via==\"workload\" and .credential.bound_process.comm==\"procbindctl\"")
echo "$ev" | jq -e --arg c "$(readlink -f "$(command -v curl)")" '.credential.bound_process.exe == $c and
	.credential.bound_process.exe_ino > 0' >/dev/null || fail "run's credential does not name curl: $ev"
pass "procbindctl run -- curl: curl connects and sends the credential it was given"
(echo "$BASHPID" >"$POD_A/cgroup.procs" && exec "$BUILD/procbindctl" run -- "$ACTOR" \
	connect:tcp:127.0.0.1:$PORT fork connect:tcp:127.0.0.1:$PORT) >$T/run2.out 2>&1 || true
RUNP=$(awk 'NR==1 {print $1}' $T/run2.out)
grep -q "^$RUNP connect:tcp:127.0.0.1:$PORT ok$" $T/run2.out || { cat $T/run2.out; fail "the run process's connect"; }
grep -v "^$RUNP " $T/run2.out | grep -q "connect:tcp:127.0.0.1:$PORT EPERM$" ||
	{ cat $T/run2.out; fail "the forked child of a run process was not denied"; }
pass "a run process connects; the child it forks with the same environment is denied"

# --- the trail: each proof under its credential ------------------------------
for _ in $(seq $((40 * SCALE))); do
	ctl trail --dir "$T/state/audit" --credential "$ID" -o json 2>/dev/null |
		jq -se '[.[] | select(.event=="proof_issued")] | length == 2' >/dev/null 2>&1 && break
	sleep 0.1
done
ctl trail --dir "$T/state/audit" --credential "$ID" -o json | jq -se '
	[.[] | select(.event=="proof_issued")] | length == 2 and (map(.method) | sort == ["GET", "POST"])' >/dev/null ||
	{ ctl trail --dir "$T/state/audit" --credential "$ID"; fail "trail --credential"; }
pass "procbindctl trail --credential shows each proof the credential was used for"
