#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Assurance binding against the real kernel: a destination that needs an
# approval is reached only by the credential's bound process while an
# approval for it has uses left, each connect spends one in the kernel, and
# two threads racing for the last use never both pass. An approval for
# another destination does not help; a sibling and a forked child (inherit
# none) never spend one; expiry, revocation and a kill -9 of the agent
# between two uses (the count goes on where it was). Signed approvals: an
# unknown key, an altered byte and a replay are refused, and an identity
# with "approvals: signed" refuses a local one. Request approvals: one
# proof signed, the next refused, and verify-proof --approver-key checks the
# apv claim. trail --approval shows the grant, each use with its process,
# and the end.
. "$(dirname "$0")/lib.sh"
P=$PORT
WL=$T/wl.sock
URL=https://deploy.example.invalid/api/release
export PROCBIND_WORKLOAD_SOCKET=$WL

# Approvers' keys, made offline as an approver would.
"$BUILD/procbindctl" approval keygen --out "$T/alice.key" >$T/alice.gen || fail "keygen"
grep -q '^fingerprint=[0-9a-f]\{16\}$' $T/alice.gen || fail "keygen output: $(cat $T/alice.gen)"
[ "$(stat -c %a $T/alice.key)" = 600 ] || fail "the private key file is not 0600"
"$BUILD/procbindctl" approval keygen --out "$T/mallory.key" >/dev/null || fail "keygen 2"
"$BUILD/procbindctl" approval keygen --out "$T/bob.key" >/dev/null || fail "keygen 3"
pass "approval keygen: a key pair, the private half 0600"

cat >$T/policy.yaml <<EOF
version: 1
mode: enforce
identities:
  - name: deployer
    owner: procbind-tests@example.invalid
    purpose: A release job; it may call the deploy API once per approval.
    expires: 2099-01-01
    inherit: none
    match: {cgroups: ["/pbtest-$$/podA"]}
    scope:
      - {cidr: 127.0.0.2/32, ports: $P, protocol: tcp, requires_approval: true}
      - {cidr: 127.0.0.3/32, ports: $P, protocol: tcp, requires_approval: true}
      - {cidr: 127.0.0.1/32, ports: $P, protocol: tcp}
      - {cidr: 127.0.0.5/32, ports: $P, protocol: tcp}
    requests:
      - {method: POST, url: "https://deploy.example.invalid/api/*", requires_approval: true}
      - {method: GET, url: "https://deploy.example.invalid/status"}
  - name: breakglass
    owner: procbind-tests@example.invalid
    purpose: Maintenance access to one host, only with a signed approval.
    expires: 2099-01-01
    approvals: signed
    match: {cgroups: ["/pbtest-$$/podB"]}
    scope: [{cidr: 127.0.0.4/32, ports: $P, protocol: tcp, requires_approval: true}]
protected:
  - {cidr: 127.0.0.5/32, ports: $P, protocol: tcp, identity: deployer, requires_approval: true}
approvers:
  - name: alice
    key: ./alice.key.pub
  - name: bob
    key: $(cat $T/bob.key.pub)
    identities: [deployer]
EOF
"$BUILD/procbindctl" policy check "$T/policy.yaml" >$T/check || { cat $T/check; fail "policy check"; }
bad() { # bad NAME YAML-LINE-EDIT EXPECTED-MESSAGE
	sed "$2" $T/policy.yaml >$T/bad_$1.yaml
	if "$BUILD/procbindctl" policy check $T/bad_$1.yaml >$T/err 2>&1; then fail "bad policy $1 passed"; fi
	grep -q "bad_$1.yaml:[0-9]*:[0-9]*: .*$3" $T/err || { cat $T/err; fail "bad policy $1: wrong message"; }
}
bad flag 's/requires_approval: true}$/requires_approval: yes}/' "requires_approval: 'yes' must be true or false"
bad mode 's/approvals: signed/approvals: sometimes/' "approvals: 'sometimes' must be local or signed"
bad url 's|api/\*"|a*pi"|' "'\*' may only end it"
bad key 's|./alice.key.pub|./nokey.pub|' "approvers: key file .*nokey.pub"
bad ident 's/identities: \[deployer\]/identities: [nobody]/' "identity 'nobody' is not defined"
bad exempt 's/^protected:/exempt: [{cidr: 10.0.0.0\/8, ports: any, protocol: any, requires_approval: true}]\nprotected:/' \
	"unknown key 'requires_approval' in exempt"
pass "policy check: the new fields' errors at file:line:col"

PB_FILES=tracepoints PB_POLICY=$T/policy.yaml start_agent --workload-socket "$WL"
start_server 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5

# nth NAME STEP N: the result of the Nth line of actor NAME for STEP
nth() {
	local l
	for _ in $(seq $((200 * SCALE))); do
		l=$(grep -F " $2 " "$T/$1.out" | sed -n "${3}p")
		[ -n "$l" ] && { echo "${l##* }"; return 0; }
		sleep 0.05
	done
	cat "$T/$1.out" >&2
	fail "$1 never printed result $3 of $2"
}
want() { # want NAME STEP N RESULT
	local got
	got=$(nth "$1" "$2" "$3")
	[ "$got" = "$4" ] || { cat "$T/$1.out" >&2; fail "$1: $2 (#$3) gave $got, expected $4"; }
	pass "$1: $2 (#$3) -> $4"
}
uses_left() { ctl approvals -o json | jq -r --arg id "$1" '(.[] | select(.id==$id) | .uses_left) // "gone"'; }
approve() { ctl approve --credential "$ID" --approver ops-oncall --reason "release 42" --ticket CHG-1 "$@" |
	sed -n 's/^id=//p'; }

C2=connect:tcp:127.0.0.2:$P
C2M=connect:tcp:::ffff:127.0.0.2:$P
C3=connect:tcp:127.0.0.3:$P
C3M=connect:tcp:::ffff:127.0.0.3:$P
# each race round grants one single-use approval first (the credential's
# id is known once the actor has started and been minted for)
export PB_ACTOR_RACE_CMD="'$BUILD/procbindctl' --socket '$SOCK' approve --credential \$(cat '$T/id') \
--dest 127.0.0.2:$P --approver race --reason race >/dev/null"
# (50 in a kernel-matrix guest; 200 under the sanitizers, which check the
# agent's memory, not the race, at a tenth of the speed)
ROUNDS=1000
[ -n "${ASAN_OPTIONS:-}" ] && ROUNDS=200
((SCALE > 1)) && ROUNDS=50
actor dep cgroup:$POD_A pidfile:$T/dep.pid read:$T/tok wait:$T/g1 \
	connect:tcp:127.0.0.1:$P $C2 connect:tcp:127.0.0.5:$P wait:$T/g2 $C2 $C2M $C3 \
	wait:$T/g3 $C3 wait:$T/g4 $C3 wait:$T/g5 $C3M wait:$T/g6 $C2 \
	wl-proof:$WL:$T/tok:POST:$URL:$T/p1 wait:$T/g7 wl-proof:$WL:$T/tok:POST:$URL:$T/p2 \
	wl-proof:$WL:$T/tok:POST:$URL:$T/p3 \
	wl-proof:$WL:$T/tok:GET:https://deploy.example.invalid/status:$T/p4 \
	wait:$T/g8 race:$ROUNDS:tcp:127.0.0.2:$P wait:$T/g9 fork $C2 sleep:$HOLD
DEP=$(started dep)
ID=$(mint "$DEP" "$T/tok" --identity deployer)
[ -n "$ID" ] || fail "mint for deployer"
echo "$ID" >$T/id
touch $T/g1
want dep connect:tcp:127.0.0.1:$P 1 ok
want dep $C2 1 EPERM
want dep connect:tcp:127.0.0.5:$P 1 EPERM
wait_event ".event==\"approval_refused\" and .reason==\"approval_missing\" and .process.pid==$DEP and
	.destination==\"127.0.0.2:$P\" and .approval==null and .credential.id==\"$ID\"" >/dev/null
wait_event ".event==\"connect\" and .reason==\"approval_missing\" and .process.pid==$DEP and
	.daddr==\"127.0.0.5\"" >/dev/null
pass "a gated scope rule and a gated protected rule refuse the holder without an approval (approval_missing)"

# --- a single-use approval: the first connect passes, the second is refused
A1=$(approve --dest 127.0.0.2:$P)
[[ $A1 =~ ^[0-9a-f]{16}$ ]] || fail "approve printed no id=ID line"
[ "$(uses_left "$A1")" = 1 ] || fail "approvals does not list $A1 with 1 use left"
wait_event ".event==\"approval_granted\" and .approval.id==\"$A1\" and .approval.approver==\"ops-oncall\" and
	.approval.source==\"local\" and .approval.uses==1 and .approval.ticket==\"CHG-1\" and
	.credential.bound_process.pid==$DEP" >/dev/null
touch $T/g2
want dep $C2 2 ok
want dep $C2M 1 EPERM
want dep $C3 1 EPERM
wait_event ".event==\"approval_used\" and .approval.id==\"$A1\" and .use==1 and .uses==1 and
	.process.pid==$DEP" >/dev/null
wait_event ".event==\"approval_refused\" and .reason==\"approval_exhausted\" and .approval.id==\"$A1\"" >/dev/null
wait_event ".event==\"approval_refused\" and .reason==\"approval_missing\" and .destination==\"127.0.0.3:$P\"" >/dev/null
wait_event ".event==\"approval_ended\" and .reason==\"exhausted\" and .approval.id==\"$A1\"" >/dev/null
pass "single use: first connect allowed, the second (IPv4-mapped, the same destination) approval_exhausted"
pass "an approval for 127.0.0.2 does not open 127.0.0.3 (approval_missing)"

# --- a sibling that holds the token, and the approval's count does not move
A2=$(approve --dest 127.0.0.3:$P --uses 3)
actor sib cgroup:$POD_A pidfile:$T/sib.pid read:$T/tok $C3 sleep:$HOLD
SIB=$(started sib)
expect sib $C3 EPERM
wait_event ".event==\"connect\" and .reason==\"foreign_pid\" and .process.pid==$SIB" >/dev/null
[ "$(uses_left "$A2")" = 3 ] || fail "the sibling's connect spent a use"
pass "a sibling holding the token is refused foreign_pid; the approval keeps 3 uses"
touch $T/g3
want dep $C3 2 ok
[ "$(uses_left "$A2")" = 2 ] || fail "a use was not counted"

# --- kill -9 of the agent between two uses: the count goes on where it was
# (on this host; a kernel-matrix guest makes the second use without the
# restart, whose parts are user space and the pinned map, as test_restart's)
if ((SCALE == 1)); then
	stop_agent -9
	PB_FILES=tracepoints PB_POLICY=$T/policy.yaml start_agent --workload-socket "$WL"
	[ "$(uses_left "$A2")" = 2 ] || fail "after kill -9 and restart: $(uses_left "$A2") uses left, not 2"
fi
touch $T/g4
want dep $C3 3 ok
wait_event ".event==\"approval_used\" and .approval.id==\"$A2\" and .use==2" >/dev/null
[ "$(uses_left "$A2")" = 1 ] || fail "after the second use: $(uses_left "$A2") left"
((SCALE == 1)) && pass "kill -9 between two uses: the restarted agent has 2 left, the next use is use 2 of 3"

# --- revoke
ctl revoke-approval "$A2" || fail "revoke-approval"
[ "$(uses_left "$A2")" = gone ] || fail "a revoked approval is still listed"
wait_event ".event==\"approval_ended\" and .reason==\"revoked\" and .approval.id==\"$A2\" and
	.approval.used==2" >/dev/null
if ctl revoke-approval "$A2" 2>$T/err; then fail "revoked twice"; fi
touch $T/g5
want dep $C3M 1 EPERM
pass "revoke-approval: the next connect is refused, a second revoke is an error"

# --- expiry mid-run
A3=$(approve --dest 127.0.0.2:$P --uses 5 --expires 2s)
sleep 3 # the kernel's clock decides: 2 s after the grant, whatever the machine's speed
touch $T/g6
want dep $C2 3 EPERM
wait_event ".event==\"approval_refused\" and .reason==\"approval_expired\" and .approval.id==\"$A3\"" >/dev/null
wait_event ".event==\"approval_ended\" and .reason==\"expired\" and .approval.id==\"$A3\"" >/dev/null
pass "an approval past its expiry: approval_expired"

# --- request approvals: one proof signed, the next refused
want dep "wl-proof:$WL:$T/tok:POST:$URL:$T/p1" 1 EPERM
wait_event ".event==\"approval_refused\" and .reason==\"approval_missing\" and .method==\"POST\" and
	.url==\"$URL\" and .process.pid==$DEP" >/dev/null
"$BUILD/procbindctl" approval sign --key $T/alice.key --approver alice --credential "$ID" \
	--request POST "https://deploy.example.invalid/api/*" --reason "release 42" --ticket CHG-2 \
	>$T/req.apv || fail "approval sign (request)"
A4=$(ctl approve --signed $T/req.apv | sed -n 's/^id=//p')
[ -n "$A4" ] || fail "a signed request approval was not granted"
touch $T/g7
want dep "wl-proof:$WL:$T/tok:POST:$URL:$T/p2" 1 ok
want dep "wl-proof:$WL:$T/tok:POST:$URL:$T/p3" 1 EPERM
want dep "wl-proof:$WL:$T/tok:GET:https://deploy.example.invalid/status:$T/p4" 1 ok
wait_event ".event==\"approval_refused\" and .reason==\"approval_exhausted\" and .approval.id==\"$A4\"" >/dev/null
wait_event ".event==\"proof_issued\" and .approval.id==\"$A4\" and .process.pid==$DEP" >/dev/null
PK=$T/state/node.pub
TOK=$(cat $T/tok)
"$BUILD/procbindctl" verify-proof "$(cat $T/p2)" --token "$TOK" --method POST --url "$URL" --pubkey "$PK" \
	--approver-key $T/alice.key.pub >$T/claims || fail "verify-proof --approver-key refused the proof"
jq -e --arg a "$A4" '.apv.id==$a and .apv.approver=="alice" and .apv.use==1 and (.apv.signed|startswith("pba1."))' \
	$T/claims >/dev/null || fail "the proof's apv claim: $(cat $T/claims)"
if "$BUILD/procbindctl" verify-proof "$(cat $T/p2)" --token "$TOK" --method POST --url "$URL" --pubkey "$PK" \
	--approver-key $T/mallory.key.pub >/dev/null 2>$T/err; then fail "another approver's key accepted"; fi
grep -q bad_signature $T/err || { cat $T/err; fail "wrong refusal for another approver's key"; }
# the proof with one byte of its apv's signed approval altered (which also
# breaks the node's signature over the proof)
ALT=$(python3 -c '
import base64, json, sys
h, c, s = sys.argv[1].split(".")
pad = lambda x: x + "=" * (-len(x) % 4)
cl = json.loads(base64.urlsafe_b64decode(pad(c)))
a = cl["apv"]["signed"]
cl["apv"]["signed"] = a[:-3] + ("A" if a[-3] != "A" else "B") + a[-2:]
body = base64.urlsafe_b64encode(json.dumps(cl, separators=(",", ":")).encode()).decode().rstrip("=")
print(h + "." + body + "." + s)' "$(cat $T/p2)")
if "$BUILD/procbindctl" verify-proof "$ALT" --token "$TOK" --method POST --url "$URL" --pubkey "$PK" \
	--approver-key $T/alice.key.pub >/dev/null 2>$T/err; then fail "an altered apv accepted"; fi
if "$BUILD/procbindctl" verify-proof "$(cat $T/p4)" --token "$TOK" --method GET \
	--url https://deploy.example.invalid/status --pubkey "$PK" --approver-key $T/alice.key.pub \
	>/dev/null 2>$T/err; then fail "a proof without an approval passed --approver-key"; fi
grep -q no_approval $T/err || { cat $T/err; fail "wrong refusal for a proof without apv"; }
pass "request approval: one proof signed (apv: alice's signed approval), the next approval_exhausted"
pass "verify-proof --approver-key: accepted with alice's key; another key, an altered apv, none: refused"

# --- two threads race for the last use, $ROUNDS times: exactly one passes
touch $T/g8
end=$((SECONDS + ROUNDS / 2 * SCALE + 60)) # a round is a procbindctl run and two connects
until grep -q " race rounds=" $T/dep.out; do
	((SECONDS < end)) || { cat $T/dep.out; fail "the race did not finish in time"; }
	sleep 0.5
done
grep -q " race rounds=$ROUNDS one=$ROUNDS none=0 both=0$" $T/dep.out ||
	{ grep race $T/dep.out; fail "racing threads: not exactly one connect per single-use approval"; }
pass "two threads raced for a single use $ROUNDS times: exactly one connect passed each time"

# --- a forked child (inherit none) never spends its parent's approval
A6=$(approve --dest 127.0.0.2:$P)
touch $T/g9
want dep $C2 4 EPERM
CHILD=$(grep -F " $C2 " $T/dep.out | sed -n 4p | cut -d' ' -f1)
[ "$CHILD" != "$DEP" ] || fail "the fork's connect was not the child's"
wait_event ".event==\"connect\" and .reason==\"foreign_pid\" and .process.pid==$CHILD" >/dev/null
[ "$(uses_left "$A6")" = 1 ] || fail "the child's connect spent a use"
pass "a forked child (inherit none) is refused foreign_pid; the approval keeps its use"

# --- signed approvals for an identity that takes only those (user space
# and one connect: on this host only, not in every kernel-matrix guest)
if ((SCALE > 1)); then
	echo "SKIP (part): signed approvals for breakglass and the trail: user space, run on the host"
	exit 0
fi
actor bg cgroup:$POD_B pidfile:$T/bg.pid read:$T/tok2 wait:$T/h1 connect:tcp:127.0.0.4:$P \
	connect:tcp:::ffff:127.0.0.4:$P sleep:$HOLD
BG=$(started bg)
ID2=$(mint "$BG" "$T/tok2" --identity breakglass)
if ctl approve --credential "$ID2" --dest 127.0.0.4:$P --approver root --reason x >/dev/null 2>$T/err; then
	fail "a local approval for an approvals: signed identity"
fi
grep -q "takes only approvals signed" $T/err || { cat $T/err; fail "wrong refusal (local)"; }
sign() { "$BUILD/procbindctl" approval sign --credential "$ID2" --dest 127.0.0.4:$P \
	--reason "maintenance window" --ticket INC-7 "$@"; }
sign --key $T/mallory.key >$T/mallory.apv || fail "sign (mallory)"
if ctl approve --signed $T/mallory.apv >/dev/null 2>$T/err; then fail "an unknown key's approval"; fi
grep -q "not signed by any approver in the policy" $T/err || { cat $T/err; fail "wrong refusal (key)"; }
sign --key $T/bob.key >$T/bob.apv || fail "sign (bob)"
if ctl approve --signed $T/bob.apv >/dev/null 2>$T/err; then fail "bob approved for breakglass"; fi
grep -q "approver 'bob' may not approve for identity 'breakglass'" $T/err ||
	{ cat $T/err; fail "wrong refusal (bob)"; }
sign --key $T/alice.key --approver alice >$T/alice.apv || fail "sign (alice)"
python3 -c '
import sys
t = open(sys.argv[1]).read().strip()
i = t.index(".") + 8
print(t[:i] + ("A" if t[i] != "A" else "B") + t[i + 1:])' $T/alice.apv >$T/altered.apv
if ctl approve --signed $T/altered.apv >/dev/null 2>$T/err; then fail "an altered approval"; fi
A5=$(ctl approve --signed - <$T/alice.apv | sed -n 's/^id=//p')
[ -n "$A5" ] || fail "alice's signed approval was not granted"
if ctl approve --signed $T/alice.apv >/dev/null 2>$T/err; then fail "a signed approval submitted twice"; fi
grep -q "submitted before" $T/err || { cat $T/err; fail "wrong refusal (replay)"; }
FPR=$(sed -n 's/^fingerprint=//p' $T/alice.gen)
wait_event ".event==\"approval_granted\" and .approval.id==\"$A5\" and .approval.source==\"signed\" and
	.approval.key_fingerprint==\"$FPR\" and .approval.approver==\"alice\"" >/dev/null
touch $T/h1
expect bg connect:tcp:127.0.0.4:$P ok
expect bg connect:tcp:::ffff:127.0.0.4:$P EPERM
pass "signed approvals: an unknown key, a key not allowed for the identity, an altered byte, a replay refused"
pass "approvals: signed refuses a local approval; alice's signed one opened 127.0.0.4 once"

# --- the trail: the grant, each use with its process, the end
ctl trail --approval "$A1" -o json >$T/trail || fail "trail --approval"
jq -s -e --argjson d "$DEP" '
	([.[] | select(.event=="approval_granted")] | length==1) and
	(.[] | select(.event=="approval_granted") | .approval.approver=="ops-oncall" and
		.approval.reason=="release 42" and .approval.ticket=="CHG-1") and
	([.[] | select(.event=="approval_used" and .use==1 and .process.pid==$d)] | length==1) and
	([.[] | select(.event=="approval_ended" and .reason=="exhausted")] | length==1)' $T/trail >/dev/null ||
	{ cat $T/trail; fail "trail --approval $A1"; }
ctl trail --approval "$A2" >$T/trail2 || fail "trail --approval (table)"
{ [ "$(grep -c approval_used $T/trail2)" = 2 ] && grep -q "approver=ops-oncall" $T/trail2 &&
	grep -q 'why="release 42"' $T/trail2 && grep -q "ticket=CHG-1" $T/trail2; } ||
	{ cat $T/trail2; fail "trail --approval table"; }
pass "trail --approval: the approver, the reason, the ticket, each use with its process"

# --- an approval never outlives its credential
A7=$(approve --dest 127.0.0.3:$P --uses 2)
ctl status -o json | jq -e '.approvals.live >= 2 and .approvals.granted >= 5 and .approvals.used >= 4 and
	.approvals.refused >= 4' >/dev/null || fail "status: approvals $(ctl status -o json | jq -c .approvals)"
ctl revoke "$ID" || fail "revoke the credential"
wait_event ".event==\"approval_ended\" and .reason==\"credential_ended\" and .approval.id==\"$A7\"" >/dev/null
[ "$(uses_left "$A7")" = gone ] || fail "an approval outlived its credential"
if ctl approve --credential "$ID" --dest 127.0.0.3:$P --approver a --reason r >/dev/null 2>$T/err; then
	fail "an approval for a revoked credential"
fi
grep -q "has ended" $T/err || { cat $T/err; fail "wrong refusal (ended credential)"; }
pass "a credential's end ends its approvals (approval_ended credential_ended); none is granted after it"

# --- the trail from the files alone, the agent down; verify covers the records
stop_agent
"$BUILD/procbindctl" trail --dir "$T/state/audit" --approval "$A3" -o json >$T/trail3 ||
	fail "trail --approval with the agent down"
jq -s -e '[.[] | .event] == ["approval_granted", "approval_refused", "approval_ended"] or
	[.[] | .event] == ["approval_granted", "approval_ended", "approval_refused"]' $T/trail3 >/dev/null ||
	{ cat $T/trail3; fail "trail --approval $A3 with the agent down"; }
"$BUILD/procbindctl" verify --dir "$T/state/audit" >$T/verify 2>&1 || { cat $T/verify; fail "verify"; }
pass "trail --approval reads the files with the agent down; verify: $(head -1 $T/verify)"
