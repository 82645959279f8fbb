#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# One agent per node: a second procbindd on the same control socket, state
# directory or pin directory is refused at start, naming the running
# agent's PID, before it writes, loads or pins anything; the first keeps
# serving with its one file guard. procbindd --take-over replaces the
# running agent while a sibling reads the token in a loop: the sibling gets
# 0 bytes and no open is allowed to it, the new agent adopts the credential,
# and there is again one agent and one guard.
. "$(dirname "$0")/lib.sh"
start_agent
FIRST=$AGENT_PID
actor owner cgroup:$POD_A pidfile:$T/owner.pid wait:$T/minted read:$T/tok sleep:$HOLD
OWNER=$(started owner)
ID=$(mint "$OWNER" "$T/tok")
[ -n "$ID" ] || fail "mint"
touch "$T/minted"
expect owner "read:$T/tok" ok
GUARD=$(ctl status -o json | jq -r .guard.pid)
[ "$GUARD" -gt 0 ] || fail "no guard"

guards() { # the guards whose group marks this test's token file
	ctl status -o json | jq -r .guard.pid
}
# second NAME WANT FLAGS...: a second agent refused with WANT in its log,
# having pinned, written and served nothing
second() {
	local name=$1 want=$2 rc=0
	shift 2
	mkdir -p "$T/$name"
	timeout 60 "$BUILD/procbindd" --lsm off --policy "$PB_SOURCE/tests/integration/policy.yaml" \
		"$@" >"$T/$name/out" 2>"$T/$name/err" || rc=$?
	[ "$rc" = 75 ] || { cat "$T/$name/err"; fail "second agent ($name) exited $rc, not 75 (another agent serves)"; }
	grep -qF -- "$want" "$T/$name/err" || { cat "$T/$name/err"; fail "second agent ($name): no '$want'"; }
	grep -q "procbindd pid $FIRST\b" "$T/$name/err" || { cat "$T/$name/err"; fail "the refusal does not name pid $FIRST"; }
	kill -0 "$FIRST" || fail "the first agent died"
	ctl health >/dev/null || fail "the first agent no longer serves"
	[ "$(guards)" = "$GUARD" ] || fail "the guard changed"
	[ -z "$(new_guards)" ] || fail "a second guard runs: $(new_guards)"
	pass "second agent on the same $name refused: $(grep -F -- "$want" "$T/$name/err" | head -1 | cut -c1-150)"
}
# guards that were not running when the first agent had started (other
# tests' guards may still be exiting: they are not this test's)
pgrep -x procbind-guard | sort >"$T/guards.before" || true
new_guards() { pgrep -x procbind-guard | sort | comm -13 "$T/guards.before" - | tr '\n' ' ' | sed 's/ $//'; }
PINS_BEFORE=$(ls "$PIN" | sort | tr '\n' ' ')
second socket "serves the control socket $SOCK" --socket "$SOCK" --state-dir "$T/s2" \
	--pin-dir "$PIN-2" --workload-socket off
[ ! -e "$T/s2/audit" ] && [ ! -e "$T/s2/node.key" ] || fail "the refused agent wrote its state"
[ ! -e "$PIN-2" ] || fail "the refused agent made a pin directory"
second state "state directory $T/state is in use by procbindd pid $FIRST" --socket "$T/s3.sock" \
	--state-dir "$T/state" --pin-dir "$PIN-3" --workload-socket off
[ ! -e "$T/s3.sock" ] && [ ! -e "$PIN-3" ] || fail "the refused agent left a socket or pins"
second pins "pin directory $PIN is in use by procbindd pid $FIRST" --socket "$T/s4.sock" \
	--state-dir "$T/s4" --pin-dir "$PIN" --workload-socket off
[ "$(ls "$PIN" | sort | tr '\n' ' ')" = "$PINS_BEFORE" ] || fail "the refused agent changed the pins"
[ ! -e "$T/s4/audit" ] || fail "the refused agent opened a trail"
rmdir "$PIN-2" "$PIN-3" 2>/dev/null || true

# --- --take-over while a sibling reads the token in a loop, with systemd's
# readiness socket: at READY=1 the new agent must already serve and enforce
# (its own guard answering, the old one stopped)
python3 "$PB_SOURCE/tests/integration/notify_ready.py" "$T/notify.sock" "$BUILD/procbindctl" \
	"$SOCK" "$T/ready.json" &
PIDS+=($!)
wait_file "$T/notify.sock.bound"
sibling_reads "$T/tok" "$T/sibling.out"
sleep 0.5
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 \
	"$BUILD/procbindd" --state-dir "$T/state" --socket "$SOCK" --bpffs /sys/fs/bpf --pin-dir "$PIN" \
	--lsm off --policy "$PB_SOURCE/tests/integration/policy.yaml" --take-over \
	>>"$OUT" 2>"$T/agent2.log" &
AGENT_PID=$!
PIDS+=($AGENT_PID)
for _ in $(seq $((200 * SCALE))); do
	! kill -0 "$FIRST" 2>/dev/null && ctl health >/dev/null 2>&1 && break
	kill -0 "$AGENT_PID" || { cat "$T/agent2.log"; fail "the new agent exited"; }
	sleep 0.1
done
kill -0 "$FIRST" 2>/dev/null && fail "the first agent still runs after --take-over"
ctl health >/dev/null || { cat "$T/agent2.log"; fail "the new agent does not serve"; }
grep -q "asking procbindd pid $FIRST .* to step down" "$T/agent2.log" || { cat "$T/agent2.log"; fail "no step-down logged"; }
sleep 1
touch "$T/stop"
wait_line_file() { for _ in $(seq $((100 * SCALE))); do grep -q "$2" "$1" && return 0; sleep 0.05; done; fail "no $2 in $1"; }
wait_line_file "$T/sibling.out" tries
grep -q LEAK "$T/sibling.out" && fail "the sibling read the token during the take-over"
[ ! -s "$T/stolen" ] || fail "the sibling got $(stat -c %s "$T/stolen") bytes"
SIB_OPENS=$(count_events ".event==\"credential_acquired\" and .credential.id==\"$ID\" and .process.comm==\"cat\"")
[ "$SIB_OPENS" = 0 ] || fail "$SIB_OPENS opens allowed to the sibling"
wait_event ".event==\"agent_started\" and .adopted==true and .pid==$AGENT_PID" >/dev/null
ctl ps -o json | jq -e --arg id "$ID" '.[] | .owns[]? | select(.id==$id)' >/dev/null ||
	fail "the new agent does not know the credential"
NEWGUARD=$(guards)
[ "$NEWGUARD" -gt 0 ] && [ "$NEWGUARD" != "$GUARD" ] || fail "the new agent has no guard of its own"
for _ in $(seq $((100 * SCALE))); do kill -0 "$GUARD" 2>/dev/null || break; sleep 0.05; done
kill -0 "$GUARD" 2>/dev/null && fail "the old guard still runs"
[ "$(new_guards)" = "$NEWGUARD" ] || fail "guards started since the first agent: $(new_guards), not only $NEWGUARD"
TRIES=$(sed -n 's/^tries //p' "$T/sibling.out")
pass "--take-over: agent $FIRST stepped down, $AGENT_PID adopted credential $ID; the sibling's $TRIES reads got 0 bytes, 0 opens allowed; one guard"
wait_file "$T/ready.json"
jq -e --argjson p "$AGENT_PID" '.msg | contains("READY=1") and contains("MAINPID=\($p)")' \
	"$T/ready.json" >/dev/null || fail "READY=1: $(cat "$T/ready.json")"
jq -e --argjson p "$AGENT_PID" --argjson g "$NEWGUARD" '.status.pid == $p and .status.guard.pid == $g' \
	"$T/ready.json" >/dev/null || fail "at READY=1 the new agent did not serve with its guard: $(cat "$T/ready.json")"
jq -e --arg old "$GUARD" '.guards | index($old) == null' "$T/ready.json" >/dev/null ||
	fail "at READY=1 the old guard $GUARD still ran: $(jq -c .guards "$T/ready.json")"
pass "READY=1 came on NOTIFY_SOCKET once the new agent served, with its own guard, the old one stopped"
sleep 1
DOGS=$(cat "$T/ready.json.watchdog" 2>/dev/null || echo 0)
[ "$DOGS" -ge 3 ] || fail "$DOGS WATCHDOG=1 in a second (WATCHDOG_USEC=400000: one every 200 ms)"
pass "WATCHDOG=1 every half of WATCHDOG_USEC ($DOGS in the last seconds)"


# --- --cleanup while an agent serves: refused (75), nothing removed; with
# --take-over the agent steps down first, then its guard and its pins go
rc=0
"$BUILD/procbindd" --cleanup --socket "$SOCK" --state-dir "$T/state" --pin-dir "$PIN" \
	>"$T/cleanup.out" 2>&1 || rc=$?
[ "$rc" = 75 ] || { cat "$T/cleanup.out"; fail "--cleanup beside a serving agent exited $rc, not 75"; }
grep -q "procbindd pid $AGENT_PID enforces with the pin directory" "$T/cleanup.out" ||
	fail "--cleanup: $(cat "$T/cleanup.out")"
[ "$(ls "$PIN" | sort | tr '\n' ' ')" = "$PINS_BEFORE" ] || fail "the refused --cleanup changed the pins"
ctl health >/dev/null || fail "the agent no longer serves after a refused --cleanup"
kill -0 "$NEWGUARD" || fail "a refused --cleanup stopped the guard"
pass "--cleanup beside a serving agent is refused (75), naming it; pins, agent and guard untouched"
"$BUILD/procbindd" --cleanup --take-over --socket "$SOCK" --state-dir "$T/state" --pin-dir "$PIN" \
	>"$T/cleanup.out" 2>&1 || { cat "$T/cleanup.out"; fail "--cleanup --take-over"; }
kill -0 "$AGENT_PID" 2>/dev/null && fail "the agent still runs after --cleanup --take-over"
for _ in $(seq 100); do kill -0 "$NEWGUARD" 2>/dev/null || break; sleep 0.05; done
kill -0 "$NEWGUARD" 2>/dev/null && fail "its guard $NEWGUARD still runs after --cleanup --take-over"
[ ! -e "$PIN" ] || fail "pins left: $(ls "$PIN")"
[ -z "$(new_guards)" ] || fail "guards left running: $(new_guards)"
AGENT_PID=
pass "--cleanup --take-over: the agent stepped down, its guard stopped, its pins removed"
