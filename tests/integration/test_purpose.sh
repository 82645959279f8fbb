#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Purpose binding against the real kernel: identities tagged at exec by cgroup
# and by executable; scope allow and deny; a protected destination without a
# credential, with one of another identity, and with the right one; exempt
# destinations; a cgroup created after the policy was loaded; and reloads
# (control socket and SIGHUP) while two processes connect the whole time,
# where no connect may get a verdict that neither policy gives.
# its reloads are explicit (procbindctl reload), each counted: no file watch
PB_WATCH=off
. "$(dirname "$0")/lib.sh"
P=$PORT
POD_C=$CG/podC
API_BIN=$T/api-actor
cp "$ACTOR" "$API_BIN"
# brief: an identity that expires during the test. Its expiry is set by a
# reload just before its process starts and is minted for, so a slow start-up
# cannot use up its life before the test looks.
BRIEF_S=$((6 * SCALE))
BRIEF_EXP=2099-01-01T00:00:00Z

# write_policy VARIANT [without-api]: the policy the agent reads.
#   1: db-client may reach 127.0.0.2 (protected for it) and ::1
#   2: db-client may reach 127.0.0.3 instead, and 127.0.0.2 is protected for
#      api-client: each of the holder's destinations flips between the two.
write_policy() {
	local dbc_dest=127.0.0.2 prot2=db-client
	[ "$1" = 2 ] && { dbc_dest=127.0.0.3; prot2=api-client; }
	{
		cat <<EOF
version: 1
mode: enforce
identities:
  - name: db-client
    owner: procbind-tests@example.invalid
    purpose: Tagged by the cgroup it execs in; reaches the database address.
    expires: 2099-01-01
    match: {cgroups: ["/pbtest-$$/podA"]}
    scope:
      - {cidr: $dbc_dest/32, ports: $P, protocol: tcp}
      - {cidr: "::1/128", ports: $P, protocol: tcp}
  - name: late
    owner: procbind-tests@example.invalid
    purpose: Matches a cgroup that only appears after the policy is loaded.
    expires: 2099-01-01
    match: {cgroups: ["/pbtest-$$/podC", "/pbtest-$$/many/**"]}
    scope: [{cidr: 127.0.0.1/32, ports: $P, protocol: tcp}]
  - name: retired
    owner: procbind-tests@example.invalid
    purpose: An identity whose expiry has passed.
    expires: 2020-01-01
    match: {cgroups: ["/pbtest-$$/podR"]}
    scope: [{cidr: 127.0.0.1/32, ports: $P, protocol: tcp}]
  - name: brief
    owner: procbind-tests@example.invalid
    purpose: An identity that expires a few seconds into the test.
    expires: $BRIEF_EXP
    match: {cgroups: ["/pbtest-$$/podE"]}
    scope: [{cidr: 127.0.0.1/32, ports: $P, protocol: tcp}]
EOF
		[ "${2:-}" = without-api ] || cat <<EOF
  - name: api-client
    owner: procbind-tests@example.invalid
    purpose: Tagged by the executable it runs, whatever its cgroup.
    expires: 2099-01-01
    match: {executables: [$API_BIN]}
    scope: [{cidr: 127.0.0.3/32, ports: $P, protocol: tcp}]
EOF
		cat <<EOF
protected:
  - {cidr: 127.0.0.2/32, ports: $P, protocol: tcp, identity: $prot2}
  - {cidr: 127.0.0.6/32, ports: $P, protocol: tcp, identity: db-client}
exempt:
  - {cidr: 127.0.0.9/32, ports: any, protocol: any}
EOF
	} >"$T/policy.yaml.new"
	mv "$T/policy.yaml.new" "$T/policy.yaml"
}

write_policy 1
"$BUILD/procbindctl" policy check "$T/policy.yaml" >/dev/null || fail "test policy does not check"
PB_POLICY=$T/policy.yaml start_agent
start_server 127.0.0.2 127.0.0.3 127.0.0.6 127.0.0.9
V1=$(ctl status -o json | jq -r .policy_version)
[ ${#V1} = 32 ] || fail "status shows no policy version"

actor dbc cgroup:$POD_A pidfile:$T/dbc.pid wait:$T/go read:$T/tok_dbc \
	connect:tcp:127.0.0.2:$P connect:tcp:::1:$P connect:tcp:127.0.0.3:$P \
	connect:udp:127.0.0.2:$P connect:tcp:127.0.0.9:$P connect:tcp:127.0.0.6:$P \
	wait:$T/go2 loopuntil:$T/stop:tcp:127.0.0.2:$P,tcp:127.0.0.3:$P sleep:$HOLD
PB_ACTOR_BIN=$API_BIN actor api cgroup:$POD_B pidfile:$T/api.pid wait:$T/go read:$T/tok_api \
	connect:tcp:127.0.0.3:$P connect:tcp:127.0.0.2:$P wait:$T/go3 sendto:udp:127.0.0.3:$P \
	sleep:$HOLD
actor plain cgroup:$POD_B pidfile:$T/plain.pid wait:$T/go connect:tcp:127.0.0.2:$P \
	connect:tcp:127.0.0.3:$P connect:tcp:127.0.0.9:$P \
	wait:$T/go2 loopuntil:$T/stop:tcp:127.0.0.6:$P,tcp:127.0.0.1:$P sleep:$HOLD
wait_file $T/dbc.pid; wait_file $T/api.pid; wait_file $T/plain.pid
DBC=$(cat $T/dbc.pid); API=$(cat $T/api.pid); PLAIN=$(cat $T/plain.pid)

# --- tagging at exec: by cgroup, by executable; minting checks the tag
ID_DBC=$(mint "$DBC" "$T/tok_dbc" --identity db-client)
[ -n "$ID_DBC" ] || fail "mint for the cgroup-tagged process failed"
pass "cgroup-tagged process minted for db-client"
ID_API=$(mint "$API" "$T/tok_api" --identity api-client)
[ -n "$ID_API" ] || fail "mint for the executable-tagged process failed"
pass "executable-tagged process (copy of the actor at $API_BIN) minted for api-client"
if ctl mint --pid "$DBC" --identity api-client >$T/err 2>&1; then fail "mint across identities"; fi
grep -q "does not carry identity 'api-client' (it carries db-client)" $T/err ||
	{ cat $T/err; fail "wrong refusal"; }
if ctl mint --pid "$PLAIN" --identity api-client >$T/err 2>&1; then fail "untagged mint"; fi
grep -q "(it carries none)" $T/err || { cat $T/err; fail "wrong refusal"; }
pass "mint refused for a process without the identity's tag: $(cat $T/err)"
ctl ps --all -o json | jq -e --argjson d "$DBC" --argjson a "$API" --argjson p "$PLAIN" '
	(.[] | select(.pid==$d) | .identity=="db-client") and
	(.[] | select(.pid==$a) | .identity=="api-client") and
	(.[] | select(.pid==$p) | .identity==null)' >/dev/null || fail "ps does not show the tags"
pass "ps shows each process's identity tag"

# --- an expired identity mints nothing; a credential dies with its identity.
# The agent is stopped while podE is made and brief execs in it, so the exec
# hook cannot know the new cgroup matches: the kernel's tag is none, and the
# agent derives the tag again from the same exec-time inputs when it mints.
BRIEF_EXP=$(date -u -d "+$BRIEF_S seconds" +%Y-%m-%dT%H:%M:%SZ)
write_policy 1
ctl reload >/dev/null || fail "reload with brief's expiry"
V1=$(ctl status -o json | jq -r .policy_version) # variant 1 with brief's expiry, as from now on
mkdir "$CG/podR"
kill -STOP "$AGENT_PID"
mkdir "$CG/podE"
actor retired cgroup:$CG/podR pidfile:$T/retired.pid sleep:$HOLD
actor brief cgroup:$CG/podE pidfile:$T/brief.pid wait:$T/go_brief read:$T/tok_brief \
	connect:tcp:127.0.0.1:$P wait:$T/brief_over connect:tcp:::ffff:127.0.0.1:$P sleep:$HOLD
wait_file $T/retired.pid; wait_file $T/brief.pid
KTAG=$(bpftool -j map lookup pinned "$PIN/procs" key \
	$(printf '%d %d %d %d' $(( $(cat $T/brief.pid) & 255 )) $(( ($(cat $T/brief.pid) >> 8) & 255 )) \
	$(( ($(cat $T/brief.pid) >> 16) & 255 )) 0) | jq '.formatted.value.ident')
kill -CONT "$AGENT_PID"
[ "$KTAG" = 0 ] || fail "the exec hook tagged brief ($KTAG) before the agent matched podE"
if ctl mint --pid "$(cat $T/retired.pid)" --identity retired >$T/err 2>&1; then
	fail "minted for an expired identity"
fi
grep -q "identity 'retired' expired at 2020-01-01T00:00:00Z" $T/err || { cat $T/err; fail "bad refusal"; }
pass "expired identity: $(cat $T/err)"
ctl mint --pid "$(cat $T/brief.pid)" --identity brief --ttl 10m --out $T/tok_brief >$T/brief.mint ||
	fail "mint for brief"
LEFT=$(sed -n 's/^expires_in=\([0-9]*\)s$/\1/p' $T/brief.mint)
(( LEFT <= BRIEF_S )) || fail "a 10m credential of an identity expiring in ${BRIEF_S}s lives ${LEFT}s"
pass "exec raced the cgroup's match (kernel tag 0); mint derived 'brief' from the exec-time inputs"
pass "credential life capped by its identity's expiry: expires_in=${LEFT}s for --ttl 10m"
touch $T/go_brief
expect brief connect:tcp:127.0.0.1:$P ok

touch $T/go
# --- scope and exempt for the db-client holder
expect dbc connect:tcp:127.0.0.2:$P ok
expect dbc connect:tcp:::1:$P ok
expect dbc connect:tcp:127.0.0.3:$P EPERM
expect dbc connect:udp:127.0.0.2:$P EPERM
expect dbc connect:tcp:127.0.0.9:$P ok
expect dbc connect:tcp:127.0.0.6:$P EPERM
wait_event ".event==\"connect\" and .reason==\"out_of_scope\" and .process.pid==$DBC and
	.daddr==\"127.0.0.3\" and .identity==\"db-client\" and .credential.id==\"$ID_DBC\"" >/dev/null
wait_event ".event==\"connect\" and .reason==\"out_of_scope\" and .process.pid==$DBC and
	.daddr==\"127.0.0.2\" and .protocol==\"udp\"" >/dev/null
pass "scope: in-scope destinations allowed, others (address, protocol) out_of_scope"
# --- protected: the right identity, another identity, none
expect api connect:tcp:127.0.0.3:$P ok
expect api connect:tcp:127.0.0.2:$P EPERM
wait_event ".event==\"connect\" and .reason==\"wrong_identity\" and .process.pid==$API and
	.identity==\"db-client\"" >/dev/null
expect plain connect:tcp:127.0.0.2:$P EPERM
wait_event ".event==\"connect\" and .reason==\"no_credential\" and .process.pid==$PLAIN and
	.daddr==\"127.0.0.2\" and .identity==\"db-client\"" >/dev/null
expect plain connect:tcp:127.0.0.3:$P ok
expect plain connect:tcp:127.0.0.9:$P ok
pass "protected: db-client allowed, api-client wrong_identity, no credential no_credential"
[ "$(count_events ".event==\"connect\" and .daddr==\"127.0.0.9\"")" = 0 ] ||
	fail "an exempt destination produced a decision event"
# counted for the holder (dbc); plain holds nothing: a connect it may make
ctl status -o json | jq -e '.counters.exempt_connect >= 1' >/dev/null || fail "exempt not counted"
pass "exempt destination allowed without a decision (counted: exempt_connect)"

# --- a cgroup created after the policy was loaded is tagged as it appears
mkdir "$POD_C"
wait_event ".event==\"cgroup_matched\" and (.cgroup|endswith(\"/podC\")) and
	.identities==[\"late\"] and .how==\"created\"" >/dev/null
actor late cgroup:$POD_C pidfile:$T/late.pid wait:$T/go_late read:$T/tok_late \
	connect:tcp:127.0.0.1:$P connect:tcp:127.0.0.3:$P sleep:$HOLD
wait_file $T/late.pid
[ -n "$(mint "$(cat $T/late.pid)" "$T/tok_late" --identity late)" ] || fail "late mint failed"
touch $T/go_late
expect late connect:tcp:127.0.0.1:$P ok
expect late connect:tcp:127.0.0.3:$P EPERM
pass "new cgroup matched on creation; its process was tagged at exec and scoped"
# many in a row: each is matched, also one the agent hears of before the
# kernel makes its directory visible (the mkdir hook runs just before that)
mkdir "$CG/many"
# (fewer in a slow guest of the kernel matrix: the same check, a fifth of the time)
NCG=$((SCALE > 1 ? 40 : 200))
for i in $(seq $NCG); do mkdir "$CG/many/c$i"; sleep 0.01; done
MANY=".event==\"cgroup_matched\" and .how==\"created\" and (.cgroup|startswith(\"/pbtest-$$/many/\"))"
end=$((SECONDS + 10 * SCALE))
while n=$(count_events "$MANY"); [ "$n" -lt $NCG ] && ((SECONDS < end)); do sleep 0.2; done
[ "$n" = $NCG ] || fail "$n of $NCG cgroups made in a row were matched"
pass "$NCG cgroups made in a row: every one matched as it appeared"
# the clock read by bash, not by two execs of date every 0.2 s
brief_end=$(date -u -d "$BRIEF_EXP" +%s)
while printf -v now '%(%s)T' -1 && ((now <= brief_end)); do sleep 0.2; done
touch $T/brief_over
expect brief connect:tcp:::ffff:127.0.0.1:$P EPERM
wait_event ".event==\"connect\" and .reason==\"expired\" and .process.pid==$(cat $T/brief.pid)" >/dev/null
pass "once its identity expired, the credential's holder is denied (expired)"

# --- reloads while two processes connect the whole time
touch $T/go2
sleep 0.3
NRELOAD=$((SCALE > 1 ? 6 : 12)) # even: the last one written is variant 1
for i in $(seq 1 $NRELOAD); do
	write_policy $(( i % 2 ? 2 : 1 ))
	if (( i % 3 )); then
		ctl reload >/dev/null || fail "reload $i failed"
	else
		kill -HUP "$AGENT_PID"
	fi
	sleep 0.25
done
# then back to back: each old generation goes right after the switch, while
# a hook may still be between its reads of it (the agent waits for those)
NBURST=$((SCALE > 1 ? 10 : 40)) # even: the last one written is variant 1
for i in $(seq 1 $NBURST); do
	write_policy $(( i % 2 ? 2 : 1 ))
	ctl reload >/dev/null || fail "reload $((NRELOAD + i)) failed"
done
# the last one written was variant 1: wait until it is in force (generation
# 1 at start, 2 for brief's expiry, then these)
wait_event ".event==\"policy_loaded\" and .generation==$((2 + NRELOAD + NBURST))" >/dev/null
sleep 0.2
touch $T/stop
wait_line dbc "tally:tcp:127.0.0.3"
wait_line plain "tally:tcp:127.0.0.1"
tally() { grep -F " tally:$2 " "$T/$1.out" | sed -n "s/.* $3=\([0-9]*\).*/\1/p"; }
D_OK=$(tally dbc tcp:127.0.0.2:$P ok); D_NO=$(tally dbc tcp:127.0.0.2:$P EPERM)
E_OK=$(tally dbc tcp:127.0.0.3:$P ok); E_NO=$(tally dbc tcp:127.0.0.3:$P EPERM)
echo "holder: 127.0.0.2 ok=$D_OK EPERM=$D_NO; 127.0.0.3 ok=$E_OK EPERM=$E_NO"
(( D_OK > 0 && D_NO > 0 && E_OK > 0 && E_NO > 0 )) ||
	fail "both policies should have been in force during the loop"
[ "$(tally plain tcp:127.0.0.6:$P ok)" = 0 ] ||
	fail "a destination protected by both policies was reached without a credential"
[ "$(tally plain tcp:127.0.0.1:$P EPERM)" = 0 ] ||
	fail "a destination neither policy protects was denied"
[ "$(tally dbc tcp:127.0.0.2:$P other)$(tally dbc tcp:127.0.0.3:$P other)" = 00 ] ||
	fail "unexpected errors in the loop"
# Every denial is reported: in full, or counted in a refusals_folded record
# (a repeat of the same destination and reason). Policy 1 denies 127.0.0.3
# (out_of_scope), policy 2 denies 127.0.0.2 (wrong_identity). Half of one
# and half of the other would show out_of_scope for 127.0.0.2 or
# wrong_identity for 127.0.0.3.
denials() { # DADDR: "REASON COUNT" per record
	jq -r "select(((.event==\"connect\" and .verdict==\"deny\") or .event==\"refusals_folded\") and
		.process.pid==$DBC and .daddr==\"$1\" and .protocol==\"tcp\") |
		\"\\(.reason) \\(.count // 1)\"" "$OUT"
}
# the folded counts are written once a second: until they are all in
for _ in $(seq $((40 * SCALE))); do
	N2=$(denials 127.0.0.2 | awk '{n += $2} END {print n + 0}')
	N3=$(denials 127.0.0.3 | awk '{n += $2} END {print n + 0}')
	(( N2 == D_NO && N3 == E_NO + 1 )) && break
	sleep 0.1
done
R2=$(denials 127.0.0.2); R3=$(denials 127.0.0.3)
echo "deny reasons, 127.0.0.2: $(echo "$R2" | awk '{print $1}' | sort | uniq -c)"
echo "deny reasons, 127.0.0.3: $(echo "$R3" | awk '{print $1}' | sort | uniq -c)"
[ "$(echo "$R2" | awk '{print $1}' | sort -u | tr -d '\n')" = wrong_identity ] ||
	fail "127.0.0.2 got a reason neither policy gives"
[ "$(echo "$R3" | awk '{print $1}' | sort -u | tr -d '\n')" = out_of_scope ] ||
	fail "127.0.0.3 got a reason neither policy gives"
(( N2 == D_NO && N3 == E_NO + 1 )) ||
	fail "denials ($D_NO, $E_NO + 1 before the loop) and their events and counts ($N2, $N3) differ"
ctl status -o json | jq -e '.counters.events_lost == 0 and .counters.no_policy == 0' >/dev/null ||
	fail "events were lost or a hook ran without a policy: the check above is incomplete"
pass "$NRELOAD reloads, then $NBURST back to back, under load: every verdict was one policy's, none lost, no gap"
[ "$(count_events '.event=="policy_loaded"')" = $((2 + NRELOAD + NBURST)) ] ||
	fail "expected $((2 + NRELOAD + NBURST)) policy_loaded events"

# --- a policy that does not load is rejected; the old one stays in force
cp "$T/policy.yaml" "$T/good.yaml"
printf 'version: 1\nidentities:\n  - name: x\n    owner: o\n' >"$T/policy.yaml"
if ctl reload >$T/err 2>&1; then fail "a broken policy was accepted"; fi
grep -q "policy.yaml:3:5: identity: 'purpose' is required" $T/err || { cat $T/err; fail "bad message"; }
wait_event '.event=="policy_rejected"' >/dev/null
actor again cgroup:$POD_B connect:tcp:127.0.0.6:$P
expect again connect:tcp:127.0.0.6:$P EPERM
pass "broken policy rejected ($(head -1 $T/err)); the old one still enforces"
cp "$T/good.yaml" "$T/policy.yaml"
[ "$(ctl status -o json | jq -r .policy_version)" = "$V1" ] ||
	fail "version in force should still be the first policy's ($V1: same bytes as now)"

# --- removing an identity revokes its credentials
write_policy 1 without-api
ctl reload >/dev/null || fail "reload without api-client failed"
wait_event ".event==\"credential_ended\" and .reason==\"identity_removed\" and
	.credential.id==\"$ID_API\"" >/dev/null
[ "$(ctl status -o json | jq -r .policy_version)" != "$V1" ] || fail "version did not change"
touch $T/go3
expect api sendto:udp:127.0.0.3:$P EPERM
wait_event ".event==\"connect\" and .reason==\"revoked\" and .process.pid==$API" >/dev/null
pass "an identity removed by reload: its credential revoked (identity_removed) and denied"

# --- monitor mode from the policy: out_of_scope reported, not denied
sed -i 's/^mode: enforce$/mode: monitor/' "$T/policy.yaml"
ctl reload >/dev/null || fail "reload to monitor failed"
ctl status -o json | jq -e '.mode=="monitor"' >/dev/null || fail "status does not show monitor"
actor mon cgroup:$POD_A pidfile:$T/mon.pid wait:$T/go_mon read:$T/tok_mon \
	connect:tcp:127.0.0.3:$P sleep:$HOLD
wait_file $T/mon.pid
[ -n "$(mint "$(cat $T/mon.pid)" "$T/tok_mon" --identity db-client)" ] || fail "mint mon"
touch $T/go_mon
expect mon connect:tcp:127.0.0.3:$P ok
wait_event ".event==\"connect\" and .verdict==\"monitor\" and .reason==\"out_of_scope\" and
	.process.pid==$(cat $T/mon.pid)" >/dev/null
pass "monitor mode: out_of_scope is an event, the connect goes through"
