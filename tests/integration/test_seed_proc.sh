#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The /proc fallback of the task walk (--seed-from proc, what a kernel without
# a task iterator gets). /proc gives start times in 10 ms ticks, the hooks
# compare nanoseconds: a seeded record is marked coarse and the first hook
# that sees its process settles it. Until then a mint for it is refused, never
# bound to a start time the kernel would not match; after it, enforcement is
# exactly what the task iterator gives.
# Foreign holders are what this test judges: the file guard would refuse
# their reads (test_guard.sh), so the open tracepoints record them instead.
PB_FILES=tracepoints
. "$(dirname "$0")/lib.sh"
P=$PORT
TICK=10000000

# rec PID: the process's record in the kernel, as JSON
rec() {
	local p=$1
	bpftool -j map lookup pinned "$PIN/procs" key $((p & 255)) $(((p >> 8) & 255)) \
		$(((p >> 16) & 255)) $(((p >> 24) & 255)) | jq -c '.formatted.value'
}
COARSE=4 # PB_PROC_COARSE
ticks() { awk '{ sub(/.*\) /, ""); print $20 }' /proc/$1/stat; }

mkdir -p "$CG" "$POD_A" "$POD_B"
# all three predate the agent
actor owner cgroup:$POD_A pidfile:$T/owner.pid wait:$T/settle connect:tcp:127.0.0.1:$P \
	wait:$T/go read:$T/tok connect:tcp:127.0.0.1:$P sleep:$HOLD
actor sib cgroup:$POD_A pidfile:$T/sib.pid wait:$T/go2 read:$T/tok connect:tcp:127.0.0.1:$P \
	sleep:$HOLD
actor parent cgroup:$POD_B pidfile:$T/parent.pid wait:$T/fork fork pidfile:$T/child.pid \
	connect:tcp:127.0.0.1:$P sleep:$HOLD
wait_file $T/owner.pid; wait_file $T/sib.pid; wait_file $T/parent.pid
OWNER=$(cat $T/owner.pid); SIB=$(cat $T/sib.pid); PARENT=$(cat $T/parent.pid)

start_agent --seed-from proc
start_server
grep -q "seeded from /proc" "$T/agent.log" || fail "the agent did not say it seeds from /proc"
"$BUILD/procbindd" --probe --seed-from proc >$T/probe.out || { cat $T/probe.out; fail "--probe"; }
grep -qE "^  task iterator .*not used \(--seed-from proc\)" $T/probe.out &&
	grep -qE "^  /proc start times +yes +USER_HZ 100" $T/probe.out ||
	{ cat $T/probe.out; fail "the probe does not show the /proc fallback"; }
pass "seeded from /proc, and the probe says so"

for p in $OWNER $SIB $PARENT; do
	R=$(rec $p)
	echo "$R" | jq -e --argjson t "$(ticks $p)" --argjson c $COARSE --argjson k $TICK \
		'(.flags / $c | floor) % 2 == 1 and .self.start_time == $t * $k and .ident != 0' >/dev/null ||
		fail "pid $p: seeded record is not coarse, tick-exact and tagged: $R"
done
pass "records of the three older processes are coarse (start = $(ticks $OWNER) ticks x 10 ms) and tagged"

# a mint would bind a start time the hooks cannot match: refused, clearly
if ctl mint --pid "$OWNER" --identity payments --out $T/tok >$T/err 2>&1; then
	fail "minted for a process whose start time is known only to the tick"
fi
grep -q "known only to the 10 ms tick" $T/err || { cat $T/err; fail "refusal message"; }
pass "mint before the record is settled: $(cat $T/err)"

# its first connect settles the record to the nanosecond
touch $T/settle
expect owner connect:tcp:127.0.0.1:$P ok
R=$(rec $OWNER)
echo "$R" | jq -e --argjson t "$(ticks $OWNER)" --argjson c $COARSE --argjson k $TICK \
	'(.flags / $c | floor) % 2 == 0 and (.self.start_time / $k | floor) == $t' >/dev/null ||
	fail "the connect did not settle the record: $R"
pass "a connect settled the owner's record: start_time $(echo "$R" | jq .self.start_time) ns"

ID=$(mint "$OWNER" "$T/tok")
[ -n "$ID" ] || fail "mint after the record settled"
touch $T/go
wait_line owner "read:$T/tok"
for _ in $(seq $((100 * SCALE))); do
	[ "$(grep -c "connect:tcp:127.0.0.1:$P " $T/owner.out)" = 2 ] && break
	sleep 0.05
done
[ "$(grep -c "connect:tcp:127.0.0.1:$P ok" $T/owner.out)" = 2 ] ||
	{ cat $T/owner.out; fail "the owner's second connect (holding its credential) was not allowed"; }
pass "minted after settling; the owner connects with its credential"

# the older sibling's record settles at the credential open, and it is denied
touch $T/go2
expect sib "connect:tcp:127.0.0.1:$P" EPERM
rec $SIB | jq -e --argjson c $COARSE '(.flags / $c | floor) % 2 == 0 and .nheld == 1' >/dev/null ||
	fail "sibling record after the open: $(rec $SIB)"
wait_event ".event==\"connect\" and .verdict==\"deny\" and .process.pid==$SIB and .reason==\"foreign_pid\"" >/dev/null
pass "the older sibling that read the token is denied (foreign_pid), its record settled at the open"

# a fork of an older process settles the parent; the child's record is exact
touch $T/fork
CHILD=$(started child)
expect parent "connect:tcp:127.0.0.1:$P" ok
rec $PARENT | jq -e --argjson c $COARSE '(.flags / $c | floor) % 2 == 0' >/dev/null ||
	fail "the fork did not settle the parent: $(rec $PARENT)"
PSTART=$(rec $PARENT | jq .self.start_time)
rec $CHILD | jq -e --argjson c $COARSE --argjson ps "$PSTART" --argjson pp "$PARENT" \
	'(.flags / $c | floor) % 2 == 0 and .parent.start_time == $ps and .parent.tgid == $pp' >/dev/null ||
	fail "child record: $(rec $CHILD), parent start $PSTART"
pass "a fork settled the older parent; the child names its exact start"

ctl status -o json | jq -e '.counters.stale_record == 0' >/dev/null ||
	fail "stale records counted: $(ctl status -o json | jq -c .counters)"
pass "no record was taken for stale"
