#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The file guard remembers the processes it has judged (pinned by a pidfd)
# and the allows it gave them, and judges a remembered process from its
# record alone. What that must never do: answer from memory for a process
# that has changed. The owner reads its token in a loop, through a kept
# descriptor (pread) and a fresh open, and then:
#  1. is moved to another pod's cgroup: refused from its next read on (the
#     credential is bound to the cgroup it was minted in), and allowed again
#     once moved back;
#  2. execs another program, which reads the inherited descriptor: refused;
#  3. a sibling in the same pod is refused throughout, and every refusal is
#     an event.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed (the README's test command installs it)"

start_agent
TOK=$T/tok
owner_reads "$TOK"
mint "$OWNER" "$TOK" >/dev/null
# every round that began after the change (its phase is PHASE, written once
# the change was made) read WANT, pread and open both
after() { awk -v p="$1" -v w="$2" '$2 == p && ($3 != w || $4 != w) { bad++ } END { print bad + 0 }' "$T/owner.out"; }
# until N rounds of PHASE were printed
wait_phase() {
	for _ in $(seq $((300 * SCALE))); do
		[ "$(awk -v p="$1" '$2 == p' "$T/owner.out" | wc -l)" -ge "$2" ] && return 0
		kill -0 "$OWNER" 2>/dev/null || fail "the owner exited: $(cat "$T/owner.err")"
		sleep 0.02
	done
	fail "the owner printed fewer than $2 rounds of phase $1"
}
# phase NAME: the rounds that begin from now on are NAME's (written whole)
phase() { echo "$1" >"$T/stop.phase.new" && mv "$T/stop.phase.new" "$T/stop.phase"; }
shows() { awk -v p="$1" '$2 == p' "$T/owner.out" | head -5 | tr '\n' '|'; }

phase start
wait_phase start 30
[ "$(after start ok)" = 0 ] || fail "the owner was refused its own token: $(grep refused "$T/owner.out" | head -3)"
pass "the owner reads its token (kept descriptor and fresh opens), 30 rounds"

sibling_reads "$TOK" "$T/sib.out"

# 1. moved to pod B: its record's cgroup is no longer live, nothing
#    remembered stands
echo "$OWNER" >"$POD_B/cgroup.procs"
phase moved
wait_phase moved 20
[ "$(after moved refused)" = 0 ] ||
	fail "the owner moved to another cgroup still read its token: $(shows moved)"
pass "moved to another cgroup, the owner is refused from its next round on (20 rounds)"
echo "$OWNER" >"$POD_A/cgroup.procs"
phase back
wait_phase back 20
[ "$(after back ok)" = 0 ] || fail "the owner moved back was refused: $(shows back)"
pass "moved back to the cgroup it was minted in, the owner reads again"

# 2. exec: dd reads the descriptor python kept
touch "$T/stop.exec"
for _ in $(seq $((300 * SCALE))); do kill -0 "$OWNER" 2>/dev/null || break; sleep 0.02; done
kill -0 "$OWNER" 2>/dev/null && fail "dd did not finish"
grep -q "Operation not permitted" "$T/owner.err" ||
	fail "after exec, dd read the inherited descriptor: $(cat "$T/owner.err")"
wait_event '.event == "credential_read_refused" and .process.pid == '"$OWNER" >/dev/null
pass "after exec, the new program's read of the inherited descriptor is refused and recorded"

TRIES=$(sibling_stop "$T/sib.out")
pass "the sibling was refused all $TRIES times"
