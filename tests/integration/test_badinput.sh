#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Bad input at the entry points this suite does not cover elsewhere: every
# procbindctl and procbindd argument missing, malformed or out of range; a
# state directory that is missing, unwritable or holds foreign files. Each
# gets a clear error naming what is wrong, exit status 2 (usage) or 1
# (refused), never a crash, and an agent that refuses to start leaves
# nothing running. (The control and workload sockets' malformed requests,
# a policy that does not parse and a full disk under the audit trail are in
# test_lifecycle.sh, test_workload.sh and test_audit.sh.)
. "$(dirname "$0")/lib.sh"
CTL=$BUILD/procbindctl

# bad CMD... -- WANT: the command exits 2 with a one-line message on stderr
# that contains WANT, and prints nothing on stdout
bad() {
	local want=${*: -1} rc
	set -- "${@:1:$#-2}"
	rc=0
	"$@" >$T/out 2>$T/err </dev/null || rc=$?
	[ "$rc" = 2 ] || { cat $T/err; fail "$* exited $rc, not 2"; }
	[ ! -s $T/out ] || fail "$* printed on stdout: $(head -c 200 $T/out)"
	grep -qF -- "$want" $T/err || { cat $T/err; fail "$*: no '$want' in the message"; }
}
n=0
while IFS='|' read -r args want; do
	[ -n "$args" ] || continue
	# shellcheck disable=SC2086 # the table's words are the arguments
	bad "$CTL" --socket $T/none.sock $args -- "$want"
	n=$((n + 1))
done <<'EOF'
|usage:
frobnicate|unknown command 'frobnicate'
--frob status|unknown option '--frob'
mint|--pid PID is required
mint --pid|requires an argument
mint --pid abc --identity a|--pid must be a host PID
mint --pid 0 --identity a|--pid must be a host PID
mint --pid -5 --identity a|--pid must be a host PID
mint --pid 4194305 --identity a|--pid must be a host PID
mint --pid 99999999999999999999999 --identity a|--pid must be a host PID
mint --pid 1 --identity a --ttl forever|--ttl must be a duration
mint --pid 1 --identity a --ttl 0s|--ttl must be a duration
mint --pid 1 --identity a --inherit all|--inherit must be none or children
mint --pid 1 --identity|requires an argument
mint --pid 1 --frob|unknown option '--frob'
mint --pid 1 extra|unexpected argument 'extra'
revoke|usage: procbindctl revoke ID
revoke a b|usage: procbindctl revoke ID
revoke nothex|16 hex digits
revoke 0123456789abcdef0|16 hex digits
ps --frob|unknown option '--frob'
ps -o yaml|-o must be table or json
ps extra|unexpected argument
status --all|unknown option '--all'
status -o|requires an argument
health now|takes no arguments
reload now|takes no arguments
policy|policy check FILE
policy check|policy check FILE
policy lint x.yaml|policy check FILE
trail|usage: procbindctl trail
trail --pid abc|--pid must be a positive number
trail --pid 1 --start-time x|start-time
trail --pid 1 --since yesterday|since
run|usage: procbindctl run
run --fd x -- true|--fd must be a descriptor number
run --fd -1 -- true|--fd must be a descriptor number
run --ttl x -- true|--ttl must be a duration
run --inherit all -- true|--inherit must be none or children
run --format %d -- true|--format needs exactly one %s
token --ttl 0s|--ttl must be a duration
token extra|unexpected argument
proof|usage: procbindctl proof
proof --method GET|usage: procbindctl proof
verify-token|usage: procbindctl verify-token
verify-proof x|usage: procbindctl verify-proof
approve|--credential ID is required
approve --credential nothex --dest 127.0.0.1:1|16 hex digits
approve --credential 0123456789abcdef --reason r --approver a|give --dest ADDR:PORT or --request METHOD URL
approve --credential 0123456789abcdef --dest 127.0.0.1 --reason r --approver a|must be ADDR:PORT
approve --credential 0123456789abcdef --dest 127.0.0.1:0 --reason r --approver a|port is not a number
approve --credential 0123456789abcdef --dest 127.0.0.1:1 --proto sctp --reason r --approver a|protocol must be tcp or udp
approve --credential 0123456789abcdef --dest 127.0.0.1:1 --approver a|--reason TEXT is required
approve --credential 0123456789abcdef --dest 127.0.0.1:1 --reason r|--approver NAME is required
approve --credential 0123456789abcdef --dest 127.0.0.1:1 --reason r --approver a --uses 0|--uses must be a number
approve --credential 0123456789abcdef --dest 127.0.0.1:1 --reason r --approver a --expires soon|--expires must be a duration
approve --credential 0123456789abcdef --request GET|--request takes METHOD and URL
approve --signed x --reason r|give it alone
approvals extra|unexpected argument
revoke-approval|usage: procbindctl revoke-approval ID
revoke-approval xyz|16 hex digits
approval|approval keygen|sign
approval frob|unknown subcommand 'frob'
approval keygen|approval keygen --out FILE
approval sign --credential 0123456789abcdef --dest 127.0.0.1:1 --reason r|--key FILE
EOF
pass "procbindctl: $n missing, malformed or out-of-range arguments, each exit 2 with the reason"

# refused rather than malformed: exit 1 and the reason (no agent, no file)
for c in "status" "mint --pid 1 --identity a" "revoke 0123456789abcdef" "policy check $T/none.yaml" \
	"trail --dir $T/none --pid 1" "verify --dir $T/none" "pubkey --file $T/none" \
	"approvals" "revoke-approval 0123456789abcdef" "approve --signed $T/none.apv" \
	"approval sign --key $T/none.key --credential 0123456789abcdef --dest 127.0.0.1:1 --reason r"; do
	rc=0
	# shellcheck disable=SC2086
	"$CTL" --socket $T/none.sock $c >$T/out 2>$T/err || rc=$?
	[ "$rc" = 1 ] && [ -s $T/err ] || { cat $T/err; fail "$c exited $rc"; }
done
pass "procbindctl: no agent or no file is exit 1 with the reason ($(head -1 $T/err))"

# procbindd's own flags: refused before anything is loaded
while IFS='|' read -r args want; do
	[ -n "$args" ] || continue
	rc=0
	# shellcheck disable=SC2086
	timeout 20 "$BUILD/procbindd" --state-dir $T/s --socket $T/s.sock --pin-dir $PIN $args \
		>$T/out 2>$T/err || rc=$?
	[ "$rc" != 0 ] && [ "$rc" -lt 124 ] || { cat $T/err; fail "procbindd $args exited $rc"; }
	grep -qF -- "$want" $T/err || { cat $T/err; fail "procbindd $args: no '$want'"; }
done <<'EOF'
--mode block|--mode must be monitor or enforce
--file-guard maybe|--file-guard must be on or off
--lsm sometimes|--lsm must be
--seed-from disk|--seed-from must be auto, iter or proc
--dead-retention forever|--dead-retention must be a duration
--dead-retention 0s|--dead-retention must be a duration
--frobnicate|unrecognized option
--policy $T/none.yaml|none.yaml
EOF
[ ! -e "$PIN" ] || fail "a refused start left pins in $PIN"
pass "procbindd: malformed flags and a missing policy refused before loading anything"

# --- the state directory
# start_bad DIR WANT: the agent refuses to start with WANT in its log and
# leaves nothing pinned
start_bad() {
	local dir=$1 want=$2 rc=0
	timeout 30 "$BUILD/procbindd" --state-dir "$dir" --socket $T/s.sock --pin-dir $PIN \
		--bpffs /sys/fs/bpf --lsm off --policy "$PB_SOURCE/tests/integration/policy.yaml" \
		>$T/out 2>$T/err || rc=$?
	[ "$rc" != 0 ] && [ "$rc" -lt 124 ] || { cat $T/err; fail "state $dir: exited $rc"; }
	grep -qF -- "$want" $T/err || { cat $T/err; fail "state $dir: no '$want'"; }
	[ ! -e "$PIN" ] || fail "a refused start left pins in $PIN"
	pass "state directory refused: $(grep -F -- "$want" $T/err | head -1 | cut -c1-160)"
}
# missing, with missing parents: made
start_agent --state-dir "$T/deep/er/state"
[ -f "$T/deep/er/state/node.key" ] && [ "$(stat -c %a "$T/deep/er/state")" = 700 ] ||
	fail "missing state directory not made (or not 0700)"
stop_agent
"$BUILD/procbindd" --cleanup --pin-dir "$PIN" >/dev/null 2>&1
pass "a missing state directory (and its parents) is made, mode 0700"
# foreign files
mkdir -m 700 $T/s1 && head -c 100 /dev/urandom >$T/s1/node.key && chmod 600 $T/s1/node.key
start_bad $T/s1 "is not an Ed25519 secret key"
mkdir -m 700 $T/s2 && head -c 64 /dev/urandom >$T/s2/node.key && chmod 644 $T/s2/node.key
start_bad $T/s2 "is readable or writable by others"
mkdir -m 700 $T/s3 && ln -s /etc/hostname $T/s3/node.key
start_bad $T/s3 "is a symbolic link"
mkdir -m 700 $T/s4 $T/s4/node.key
start_bad $T/s4 "is not an Ed25519 secret key"
mkdir -m 777 $T/s5
start_bad $T/s5 "writable by others"
touch $T/s6
start_bad $T/s6 "is not a directory"
# unwritable: a read-only mount
mkdir -m 700 $T/s7
if mount -t tmpfs -o size=64k,mode=700,ro tmpfs $T/s7 2>/dev/null; then
	start_bad $T/s7 "not writable"
	umount $T/s7
else
	echo "SKIP (part): cannot mount a read-only tmpfs for the unwritable state directory"
fi
# creds.jsonl with lines that are not the agent's: skipped, said, the rest kept
mkdir -m 700 $T/s8
start_agent --state-dir $T/s8
actor owner cgroup:$POD_A pidfile:$T/owner.pid sleep:$HOLD
OWNER=$(started owner)
ID=$(mint "$OWNER" "$T/tok")
stop_agent
printf 'not json\n{"id":"zz"}\n\xff\xfe\n' >>$T/s8/creds.jsonl
start_agent --state-dir $T/s8
grep -q "does not parse\|skipped" $T/agent.log || { cat $T/agent.log; fail "foreign lines not reported"; }
ctl ps -o json | jq -e --arg id "$ID" '[.[].owns[]?.id] | index($id)' >/dev/null ||
	fail "the credential was lost: $(ctl ps -o json)"
pass "creds.jsonl with foreign lines: they are skipped and said; credential $ID is kept"
