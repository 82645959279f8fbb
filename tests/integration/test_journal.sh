#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The credentials' journal (STATE-DIR/creds.jsonl) across a crash: kill -9
# of the agent in the middle of a storm of mints, and every credential whose
# mint was answered is adopted by the next agent, named as it was minted,
# and can be revoked. A mint appends one line, however many credentials are
# live; a line torn by a crash is cut; the file of older agents (rewritten
# whole, no "op") is read as it is.
. "$(dirname "$0")/lib.sh"
J=$T/state/creds.jsonl
mkdir -p "$CG" "$POD_A"
actor owner cgroup:$POD_A pidfile:$T/owner.pid sleep:$HOLD
OWNER=$(started owner)
start_agent

# --- a mint appends one line, whatever the number of credentials
for i in $(seq 1 40); do [ -n "$(mint "$OWNER" "$T/pre$i")" ] || fail "mint $i"; done
lines0=$(wc -l <"$J")
bytes0=$(stat -c %s "$J")
ID=$(mint "$OWNER" "$T/one")
[ "$(wc -l <"$J")" = $((lines0 + 1)) ] || fail "one mint: $lines0 -> $(wc -l <"$J") lines"
tail -n 1 "$J" | jq -e --arg id "$ID" '.id==$id and .identity=="payments"' >/dev/null ||
	fail "the appended line: $(tail -n 1 "$J")"
cmp -s -n "$bytes0" "$J" <(head -c "$bytes0" "$J") || fail "the earlier lines changed"
ctl revoke "$ID" >/dev/null
[ "$(wc -l <"$J")" = $((lines0 + 2)) ] && tail -n 1 "$J" | jq -e '.death=="revoked"' >/dev/null ||
	fail "a revocation: $(tail -n 1 "$J")"
pass "with $((lines0)) credentials in the journal a mint appended one line of $(($(stat -c %s "$J") - bytes0)) bytes with its revocation; nothing before it was rewritten"

# --- kill -9 during a storm of mints: two clients mint as fast as they can
storm() {
	local n=0 id
	while :; do
		n=$((n + 1))
		id=$(ctl mint --pid "$OWNER" --identity payments --out "$T/s$1-$n" 2>/dev/null |
			sed -n 's/^id=//p') || break
		[ -n "$id" ] || break
		echo "$id" >>"$T/ids$1"
	done
}
: >$T/ids1
: >$T/ids2
storm 1 &
S1=$!
storm 2 &
S2=$!
for _ in $(seq $((200 * SCALE))); do
	[ $(($(wc -l <$T/ids1) + $(wc -l <$T/ids2))) -ge 60 ] && break
	sleep 0.05
done
stop_agent -9
wait $S1 $S2 || :
cat $T/ids1 $T/ids2 >$T/ids
N=$(wc -l <$T/ids)
[ "$N" -ge 20 ] || fail "only $N mints answered before the kill"
# what a crash in the middle of an append leaves: a torn last line
printf '{"id":"00000000000000ff","start_time":1' >>"$J"
start_agent
file_has "$T/agent.log" "torn last line was cut" || { cat "$T/agent.log"; fail "no word of the torn line"; }
[ "$(tail -c 1 "$J" | od -An -c | tr -d ' ')" = '\n' ] || fail "the journal ends in a torn line"
missing=0
while read -r id; do
	ctl revoke "$id" >$T/rv 2>&1 || { missing=$((missing + 1)); cat $T/rv; }
done <$T/ids
[ "$missing" = 0 ] || fail "$missing of $N answered mints were not adopted"
# named as they were minted: the revocation's event carries the identity,
# the bound process and the token file, from the journal
last=$(tail -n 1 $T/ids)
wait_event ".event==\"credential_revoked\" and .credential.id==\"$last\" and
	.credential.identity==\"payments\" and .credential.bound_process.pid==$OWNER" >/dev/null
pass "kill -9 during a storm of mints: all $N answered mints adopted by the next agent, named, revocable; the torn line was cut"

# --- the file of an older agent: one record per credential, no "op"
stop_agent
jq -c 'select(.op == null)' "$J" | jq -s -c 'group_by(.id) | map(last) | .[]' >$T/old.jsonl
cp $T/old.jsonl "$J"
start_agent
ctl status -o json | jq -e '.adopted == true' >/dev/null || fail "not adopted"
file_has "$T/agent.log" "adopted $(wc -l <$T/old.jsonl) credentials" ||
	{ cat "$T/agent.log"; fail "the older file was not read whole"; }
pass "the file of an older agent ($(wc -l <$T/old.jsonl) records, no op) was read as it is"
