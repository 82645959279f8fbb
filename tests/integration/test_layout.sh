#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Pinned state of another layout (an older or newer procbind) is refused with
# a clear message while the pinned programs go on enforcing; --cleanup then
# leaves nothing pinned, and enforcement is gone.
# Foreign holders are what this test judges: the file guard would refuse
# their reads (test_guard.sh), so the open tracepoints record them instead.
PB_FILES=tracepoints
. "$(dirname "$0")/lib.sh"
P=$PORT
start_agent
start_server
actor owner cgroup:$POD_A pidfile:$T/owner.pid sleep:$HOLD
OWNER=$(started owner)
[ -n "$(mint "$OWNER" "$T/tok")" ] || fail "mint"

# --- a stopped agent leaves its pins
# (sib2 reads the token while an agent runs: before 5.15 the open hooks
# stop with the agent, the connect hooks do not)
actor sib2 cgroup:$POD_A read:$T/tok wait:$T/layout connect:tcp:127.0.0.1:$P
wait_line sib2 "read:"
stop_agent
[ -d "$PIN" ] || fail "a stopped agent should leave its pins"

# --- pinned state of another layout (an older or newer procbind): refused
# with a clear message, and the pinned programs go on enforcing
CFG=$(bpftool map dump pinned "$PIN/agent_cfg" -j)
GEN=$(jq -r '.[0].formatted.value.gen // empty' <<<"$CFG")
[ -n "$GEN" ] || fail "agent_cfg: $CFG"
le32() { printf '%02x %02x %02x %02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
bpftool map update pinned "$PIN/agent_cfg" key 0 0 0 0 value hex $(le32 "$GEN") $(le32 99)
rm -f "$SOCK"
if timeout $((30 * SCALE)) "$BUILD/procbindd" --state-dir "$T/state" --socket "$SOCK" --bpffs /sys/fs/bpf \
	--pin-dir "$PIN" --lsm "${PB_LSM:-off}" --policy "$PB_SOURCE/tests/integration/policy.yaml" \
	>/dev/null 2>$T/layout.err; then
	fail "an agent adopted pinned state of layout 99"
fi
grep -q "map layout 99; this one has layout [0-9]* and cannot adopt it" $T/layout.err ||
	{ cat $T/layout.err; fail "no clear message for a pinned layout it cannot adopt"; }
touch $T/layout
expect sib2 connect:tcp:127.0.0.1:$P EPERM
pass "pinned layout 99 refused ($(grep -o 'holds the state.*adopt it' $T/layout.err)); the old programs still deny"
"$BUILD/procbindd" --cleanup --pin-dir "$PIN" >$T/c.out 2>&1 || { cat $T/c.out; fail "--cleanup"; }
[ ! -e "$PIN" ] || fail "--cleanup left $(ls "$PIN")"
actor after cgroup:$POD_A read:$T/tok connect:tcp:127.0.0.1:$P
expect after connect:tcp:127.0.0.1:$P ok
pass "--cleanup: $(tail -1 $T/c.out)"
