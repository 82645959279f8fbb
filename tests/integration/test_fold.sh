#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A flood of refusals folds into counts at its source, and hides nothing;
# a flood of distinct refusals is held to its fair share of the ring buffer.
# For 5 s a sibling in the bound process's pod opens its token from 16
# threads, and the bound process, moved to another pod, connects to one
# destination as fast as it can (each refused: foreign_cgroup). Meanwhile a
# third process tries the token once. Then:
#  - the full refusal events plus the counts of the refusals_folded records
#    equal, exactly, the EPERMs each flooder counted (the file guard's, the
#    LSM's where it runs, the connect hooks');
#  - the third process's single refusal is in the trail in full;
#  - the trail grew by less than 1 MB; verify passes.
. "$(dirname "$0")/lib.sh"
LAT=$BUILD/tools/pb_guard_lat
[ -x "$LAT" ] || skip "tools/pb_guard_lat is not built"
FLOOD_S=5
start_agent --metrics-file "$T/procbind.prom"
AUDIT=$T/state/audit

# the bound process: reads its token (a holder), then waits to flood (its
# connects back to back)
PB_ACTOR_LOOP_US=0 actor owner cgroup:$POD_A pidfile:$T/owner.pid wait:$T/go read:$T/tok wait:$T/go2 \
	"loopuntil:$T/stop.connect:udp:127.0.0.1:$PORT" sleep:$HOLD
wait_file $T/owner.pid
OWNER=$(cat $T/owner.pid)
ID=$(mint "$OWNER" "$T/tok" --ttl 10m)
[ -n "$ID" ] || fail "mint"
touch $T/go
wait_line owner "read:$T/tok ok"
echo "$OWNER" >"$POD_B/cgroup.procs" # from now on its connects are foreign_cgroup

before=$(du -sb "$AUDIT" | cut -f1)
(echo "$BASHPID" >"$POD_A/cgroup.procs" && exec "$LAT" flood 16 "$FLOOD_S" "$T/tok") \
	>"$T/flood.out" 2>&1 &
FLOODER=$!
PIDS+=("$FLOODER")
touch $T/go2
sleep 2
# one try by a third process in the middle of the flood
actor third cgroup:$POD_A pidfile:$T/third.pid read:$T/tok
wait_line third "read:$T/tok"
wait "$FLOODER" || fail "the file flood: $(cat $T/flood.out)"
touch $T/stop.connect
wait_line owner "tally:udp:127.0.0.1:$PORT"
after=$(du -sb "$AUDIT" | cut -f1)

FILE_EPERM=$(sed -n 's/.*eperm=\([0-9]*\).*/\1/p' $T/flood.out)
NET_EPERM=$(grep "tally:" $T/owner.out | sed -n 's/.* EPERM=\([0-9]*\).*/\1/p')
echo "sibling's opens refused: $FILE_EPERM; bound process's connects refused: $NET_EPERM"
[ "${FILE_EPERM:-0}" -gt 1000 ] || fail "the file flood was refused only ${FILE_EPERM:-0} times: $(cat $T/flood.out)"
[ "${NET_EPERM:-0}" -gt 1000 ] || fail "the connect flood was refused only ${NET_EPERM:-0} times: $(cat $T/owner.out)"

# the processes end: each one's last refusals_folded record is final
kill "$OWNER" 2>/dev/null
wait_event ".event==\"refusals_folded\" and .process.pid==$FLOODER and .final" >/dev/null
wait_event ".event==\"refusals_folded\" and .process.pid==$OWNER and .final" >/dev/null

SIB_FULL=$(count_events "(.event==\"credential_open_refused\" or .event==\"credential_read_refused\") and .process.pid==$FLOODER")
SIB_FOLD=$(match_events ".event==\"refusals_folded\" and .process.pid==$FLOODER" | jq -s 'map(.count) | add // 0')
NET_FULL=$(count_events ".event==\"connect\" and .verdict==\"deny\" and .process.pid==$OWNER")
NET_FOLD=$(match_events ".event==\"refusals_folded\" and .process.pid==$OWNER" | jq -s 'map(.count) | add // 0')
echo "file: $SIB_FULL full events + $SIB_FOLD folded; connect: $NET_FULL full + $NET_FOLD folded"
[ $((SIB_FULL + SIB_FOLD)) = "$FILE_EPERM" ] ||
	fail "the sibling's $FILE_EPERM refusals are $SIB_FULL full events + $SIB_FOLD folded"
[ $((NET_FULL + NET_FOLD)) = "$NET_EPERM" ] ||
	fail "the bound process's $NET_EPERM refused connects are $NET_FULL full events + $NET_FOLD folded"
[ "$SIB_FULL" -le 8 ] && [ "$NET_FULL" -le 8 ] ||
	fail "a flood of one refusal is more than a few full events ($SIB_FULL, $NET_FULL)"
pass "16-thread open flood: $FILE_EPERM refusals = $SIB_FULL full events + $SIB_FOLD folded; connect flood: $NET_EPERM = $NET_FULL + $NET_FOLD"

match_events ".event==\"refusals_folded\" and .process.pid==$OWNER" | head -1 |
	jq -e --argjson o "$OWNER" '.reason=="foreign_cgroup" and .verdict=="deny" and
		.count > 0 and .total >= .count and .first and .last and .daddr=="127.0.0.1" and
		.process.pid==$o and .credential.id' >/dev/null ||
	fail "a connect refusals_folded record: $(match_events ".event==\"refusals_folded\" and .process.pid==$OWNER" | head -1)"
pass "a refusals_folded record names the process, what it was refused, the reason, count, first and last"

THIRD=$(cat $T/third.pid)
wait_event "(.event==\"credential_open_refused\" or .event==\"credential_read_refused\") and .process.pid==$THIRD" >/dev/null
pass "the third process's single refusal during the flood is in the trail in full"

GREW=$((after - before))
[ "$GREW" -lt 1000000 ] || fail "the trail grew by $GREW bytes during the flood"
pass "the trail grew by $GREW bytes over the ${FLOOD_S}-second flood"

# No process buries another's record. A holder moved out of its pod scans
# distinct destinations as fast as it can (40,000 ports on each address of
# 127.0.0.0/8 in turn: no repeat folds them), and the agent is stopped
# (SIGSTOP) for 2 s (x SCALE) in the middle, so the ring buffer fills past
# half: then the scanner is held to its fair share and
# the rest of its refusals fold into a past_budget series. Meanwhile a
# second holder, refused once, is in the trail in full; nothing is lost;
# the scanner's EPERMs are its full events plus its folded counts.
LOST0=$(ctl status -o json | jq -r '.counters.events_lost')
for n in scan one; do
	step="loopuntil:$T/$n.stop:udp:127.0.0.1:20000+40000"
	[ $n = one ] && step=connect:udp:127.0.0.1:19999
	PB_ACTOR_LOOP_US=0 actor $n cgroup:$POD_A pidfile:$T/$n.pid wait:$T/$n.go read:$T/$n.tok \
		wait:$T/$n.go2 "$step" sleep:$HOLD
	wait_file $T/$n.pid
	mint "$(cat $T/$n.pid)" "$T/$n.tok" --ttl 10m >/dev/null
	touch $T/$n.go
	wait_line $n "read:$T/$n.tok ok"
	cat $T/$n.pid >"$POD_B/cgroup.procs" # its connects are foreign_cgroup from now on
done
SCAN=$(cat $T/scan.pid); ONE=$(cat $T/one.pid)
touch $T/scan.go2
sleep 0.5
kill -STOP "$AGENT_PID"
sleep "$SCALE" # slower guests (SCALE) scan slower: the buffer is past half before the try
touch $T/one.go2 # one try
wait_line one "connect:udp:127.0.0.1:19999 [A-Z]"
sleep "$SCALE"
kill -CONT "$AGENT_PID"
sleep 1
touch $T/scan.stop
wait_line scan "tally:udp"
SCAN_EPERM=$(grep "tally:" $T/scan.out | sed -n 's/.* EPERM=\([0-9]*\).*/\1/p')
grep -q "connect:udp:127.0.0.1:19999 EPERM" $T/one.out || fail "the second holder was not refused: $(cat $T/one.out)"
[ "${SCAN_EPERM:-0}" -gt 0 ] || fail "the scanner was never refused: $(cat $T/scan.out)"
kill "$SCAN" "$ONE" 2>/dev/null
wait_event ".event==\"refusals_folded\" and .process.pid==$SCAN and .final and .folded==\"past_budget\"" >/dev/null
wait_event ".event==\"connect\" and .verdict==\"deny\" and .process.pid==$ONE" >/dev/null
match_events ".event==\"connect\" and .verdict==\"deny\" and .process.pid==$ONE" | head -1 |
	jq -e '.reason=="foreign_cgroup" and (.process.exe|type)=="string" and .process.cgroup and
		(.credential.bound_process.exe|type)=="string"' >/dev/null ||
	fail "the second holder's refusal: $(match_events ".event==\"connect\" and .process.pid==$ONE" | head -1)"
SCAN_FULL=$(count_events ".event==\"connect\" and .verdict==\"deny\" and .process.pid==$SCAN")
SCAN_FOLD=$(match_events ".event==\"refusals_folded\" and .process.pid==$SCAN" | jq -s 'map(.count) | add // 0')
SCAN_BUDGET=$(match_events ".event==\"refusals_folded\" and .process.pid==$SCAN and .folded==\"past_budget\"" |
	jq -s 'map(.count) | add // 0')
echo "scanner: $SCAN_EPERM refused = $SCAN_FULL full events + $SCAN_FOLD folded ($SCAN_BUDGET past its share)"
[ $((SCAN_FULL + SCAN_FOLD)) = "$SCAN_EPERM" ] ||
	fail "the scanner's $SCAN_EPERM refusals are $SCAN_FULL full events + $SCAN_FOLD folded"
[ "$SCAN_BUDGET" -gt 0 ] || fail "the scanner was never held to its share ($SCAN_FULL full events)"
[ "$(ctl status -o json | jq -r '.counters.events_lost')" = "$LOST0" ] ||
	fail "events were lost: $(ctl status -o json | jq -c '.counters | {events_lost, events_sent, budget_folded}')"
pass "a scan of distinct destinations with the agent stopped $((2 * SCALE)) s: $SCAN_FULL full events + $SCAN_FOLD folded ($SCAN_BUDGET past its share) = its $SCAN_EPERM refusals, none lost; another holder's single refusal is in full"

ctl status -o json | jq -e '.counters.refusals_folded > 0 and .counters.refusals_folded_recorded > 0 and
	.counters.budget_folded > 0 and .counters.budget_folded_recorded > 0' >/dev/null ||
	fail "status: $(ctl status -o json | jq -c .counters)"
wait_metric "^procbind_refusals_folded_total [1-9]" || fail "metrics: $(grep refusals "$T/procbind.prom")"
wait_metric "^procbind_budget_folded_total [1-9]" || fail "metrics: $(grep budget "$T/procbind.prom")"
pass "status and the metrics count folded refusals apart, and those past a fair share apart again"
stop_agent
"$BUILD/procbindctl" verify --dir "$AUDIT" >$T/v.out 2>&1 || { cat $T/v.out; fail "verify"; }
pass "the trail verifies: $(tail -1 $T/v.out)"
