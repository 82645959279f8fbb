#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The CLI as a new operator meets it: every command's --help (and help CMD)
# exits 0 with its usage, options and an example; --version; a mistyped
# command, option or identity gets a suggestion; and as an unprivileged user
# procbindd and --probe say that root is needed (not that the kernel lacks
# anything), and procbindctl says which commands need root and which work
# without it.
. "$(dirname "$0")/lib.sh"
CTL=$BUILD/procbindctl
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# 1. help for every command
CMDS="mint revoke ps status health reload policy approve approvals revoke-approval approval
	run token proof pubkey verify-token verify-proof trail events verify help version"
n=0
for c in $CMDS; do
	out=$("$CTL" "$c" --help) || fail "procbindctl $c --help exited $?"
	grep -q "^usage: procbindctl $c" <<<"$out" || fail "$c --help has no usage line: $out"
	grep -q "^EXAMPLE:" <<<"$out" || fail "$c --help has no example"
	[ "$("$CTL" help "$c")" = "$out" ] || fail "help $c differs from $c --help"
	n=$((n + 1))
done
"$CTL" policy check --help | grep -q "^EXAMPLE:" || fail "policy check --help"
"$CTL" --help | grep -q "help \[COMMAND\]" || fail "--help does not mention help"
"$CTL" --version | grep -qE '^procbindctl [0-9]+\.[0-9]+' || fail "--version: $("$CTL" --version)"
pass "$n commands: --help and help CMD exit 0 with usage, options and an example; --version"

# 2. typos
expect_msg() { # WANT CMD...: exits 2, and stderr has WANT
	local err rc
	err=$("${@:2}" 2>&1 >/dev/null) && fail "$* succeeded"
	rc=$?
	[ "$rc" = 2 ] || fail "$*: exit $rc, not 2 ($err)"
	grep -qF -- "$1" <<<"$err" || fail "$*: no \"$1\" in: $err"
}
expect_msg "did you mean 'mint'?" "$CTL" mnt
expect_msg "did you mean 'status'?" "$CTL" stauts
expect_msg "did you mean 'verify-token'?" "$CTL" verify-tokn
expect_msg "did you mean '--identity'?" "$CTL" mint --pid 1 --identty payments
expect_msg "did you mean '--start-time'?" "$CTL" trail --pid 1 --start-tme 5
expect_msg "unknown command 'frobnicate' (procbindctl help)" "$CTL" frobnicate
pass "a mistyped command or option gets a suggestion (exit 2)"

start_agent
actor p cgroup:$POD_A pidfile:$T/p.pid sleep:$HOLD
wait_file $T/p.pid
err=$(ctl mint --pid "$(cat $T/p.pid)" --identity paymnets 2>&1) && fail "mint of a mistyped identity succeeded"
grep -qF "did you mean 'payments'?" <<<"$err" || fail "mistyped identity: $err"
grep -qF "its identities: " <<<"$err" || fail "mistyped identity does not list the policy's: $err"
pass "a mistyped identity: $(sed 's/^procbindctl: //' <<<"$err")"

# 3. without root
out=$(nobody "$BUILD/procbindd" --probe 2>&1) && fail "procbindd --probe as nobody exited 0"
grep -q "not privileged" <<<"$out" || fail "probe as nobody: $out"
grep -q "MISSING\|lacks what procbind needs" <<<"$out" && fail "probe as nobody blames the kernel: $out"
out=$(nobody "$BUILD/procbindd" --policy "$PB_SOURCE/deploy/policy.yaml" --state-dir "$T/nobody" \
	--pin-dir /sys/fs/bpf/pbtest-nobody-$$ --socket "$T/nobody.sock" 2>&1) && fail "procbindd as nobody ran"
grep -q "needs root, or the capabilities" <<<"$out" || fail "procbindd as nobody: $out"
grep -q "lacks what procbind needs" <<<"$out" && fail "procbindd as nobody blames the kernel: $out"
pass "procbindd and --probe as nobody say root is needed: $(grep -m1 'needs root' <<<"$out")"
out=$(nobody "$CTL" --socket "$SOCK" status 2>&1) && fail "status as nobody succeeded"
grep -q "control socket is root's" <<<"$out" || fail "status as nobody: $out"
grep -q "policy" <<<"$out" && grep -q "verify-token" <<<"$out" || fail "status as nobody lists no commands: $out"
nobody "$CTL" policy check "$PB_SOURCE/deploy/policy.yaml" >/dev/null || fail "policy check as nobody"
pass "procbindctl as nobody says the socket is root's and which commands work without root; policy check works"

# 4. under systemd (stderr the journal's stream), log lines carry their
# syslog priority; elsewhere they do not
: >"$T/j.log"
JOURNAL_STREAM=$(stat -L -c '%d:%i' "$T/j.log") "$BUILD/procbindd" --policy "$T/none.yaml" 2>>"$T/j.log" &&
	fail "procbindd started without a policy"
grep -q '^<3>procbind error: ' "$T/j.log" || fail "no <3> priority on the journal stream: $(cat "$T/j.log")"
"$BUILD/procbindd" --policy "$T/none.yaml" 2>"$T/plain.log" && fail "procbindd started without a policy"
grep -q '^procbind error: ' "$T/plain.log" || fail "a priority prefix off the journal: $(cat "$T/plain.log")"
pass "log lines carry their syslog priority (<3> for an error) when stderr is the journal, none otherwise"
