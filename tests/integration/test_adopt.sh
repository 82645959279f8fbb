#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Adopted files in real runc containers: a projected service-account token
# laid out as the kubelet's atomic writer leaves it (a timestamped directory,
# a ..data link, a token link, on a tmpfs of its own), bind-mounted at the
# real path, in containers whose cgroups are named as the kubelet names them.
# A listener stands in for the API server and keeps every request.
#  1. the container's main process reads its token and calls the API;
#  2. a `runc exec` shell's $(cat token) gets nothing, and it cannot reach
#     the protected API address at all;
#  3. rotations (new directory, ..data swapped, old one removed) with a
#     sibling reading in a tight loop: it never reads a token, main does;
#  4. a restarted container's main is the holder; a process that takes the
#     old main's PID is not;
#  5. a second pod has its own binding; deleting its container leaves no map
#     entry, mark or descriptor behind;
#  6. monitor mode reports each of these and refuses nothing.
# its reloads are explicit (procbindctl reload), each counted: no file watch
PB_WATCH=off
. "$(dirname "$0")/lib.sh"
command -v runc >/dev/null || skip "runc is not installed (the README's test command installs it)"
BB=$(command -v busybox || true)
[ -n "$BB" ] && ! ldd "$BB" >/dev/null 2>&1 ||
	skip "a static busybox is needed for the container's root (busybox-static)"

RUNC=(runc --root "$T/runc")
SA=/var/run/secrets/kubernetes.io/serviceaccount
API=$((PORT + 1))
LOGS=$T/containers
CTRS=()
v1_cleanup() {
	local c
	for c in "${CTRS[@]}"; do "${RUNC[@]}" delete -f "$c" >/dev/null 2>&1; done
	for d in /sys/fs/cgroup/*/"pbtest-$$"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}
trap 'rc=$?; set +e; v1_cleanup; (exit $rc); cleanup' EXIT

POD1=1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a51
POD2=2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c62
cid() { printf '%064x' $(($1 + $$)); }

# The kubelet's atomic writer: payload in a new ..TIMESTAMP directory,
# ..data swapped by rename, the old directory removed.
GEN=0
write_sa() { # VOLUME TOKEN
	local v=$1 ts old
	GEN=$((GEN + 1))
	ts=..2026_11_30_00_00_$(printf '%02d' "$GEN").$(printf '%09d' $$)
	old=$(readlink "$v/..data" 2>/dev/null || true)
	mkdir "$v/$ts"
	printf '%s\n' "$2" >"$v/$ts/token"
	printf 'ca-bundle\n' >"$v/$ts/ca.crt"
	ln -s "$ts" "$v/..data_tmp"
	mv -T "$v/..data_tmp" "$v/..data"
	[ -e "$v/token" ] || ln -s ..data/token "$v/token"
	[ -e "$v/ca.crt" ] || ln -s ..data/ca.crt "$v/ca.crt"
	[ -z "$old" ] || rm -rf "${v:?}/$old"
}
new_volume() { # DIR TOKEN
	mkdir -p "$1"
	mount -t tmpfs -o size=1m,mode=0755 tmpfs "$1"
	write_sa "$1" "$2"
}

# The container's main process: reads the token itself (a builtin, no
# fork), then sends it to the API from a child (inherit: children).
MAIN="while :; do
	if read -r TOKEN <$SA/token; then echo \"main-read \$TOKEN\"; else echo main-read-refused; fi
	printf 'GET /main HTTP/1.0\\r\\nAuthorization: Bearer %s\\r\\n\\r\\n' \"\$TOKEN\" | nc -w 1 127.0.0.1 $API && echo main-sent
	sleep 0.3
done"
B=$T/bundle
mkdir -p "$B/rootfs/bin" "$B/rootfs/proc" "$B/rootfs/dev" "$B/rootfs/tmp" "$B/rootfs/var/run"
cp "$BB" "$B/rootfs/bin/busybox"
for a in $("$B/rootfs/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$B/rootfs/bin/$a"; done
(cd "$B" && runc spec)
jq '.process.terminal = false | .linux.namespaces = [.linux.namespaces[] | select(.type != "network")] |
	.root.readonly = false' "$B/config.json" >"$B/base.json"

# run_ctr NAME POD_UID CONTAINER_ID VOLUME POD_NAME: a container as the
# kubelet would start it, with its log link; prints its main's host PID
run_ctr() {
	local name=$1 pod=$2 id=$3 vol=$4 podname=$5
	touch "$LOGS/${podname}_payments_reconciler-$id.log"
	jq --arg main "$MAIN" --arg cg "/pbtest-$$/kubepods/burstable/pod$pod/$id" --arg vol "$vol" \
		--arg sa "$SA" '.process.args = ["sh", "-c", $main] | .linux.cgroupsPath = $cg |
		.mounts += [{destination: $sa, type: "bind", source: $vol, options: ["rbind", "ro"]}]' \
		"$B/base.json" >"$B/config.json"
	CTRS+=("$name")
	# create (the runtime's init waits in the container) or run
	(cd "$B" && "${RUNC[@]}" "${6:-run}" ${6:+} $([ "${6:-run}" = run ] && echo -d) "$name" \
		>"$T/$name.out" 2>&1 </dev/null) || { cat "$T/$name.out"; fail "runc ${6:-run} $name"; }
	"${RUNC[@]}" state "$name" | jq .pid
}
cx() { # CONTAINER SCRIPT: a kubectl exec
	"${RUNC[@]}" exec "$1" sh -c "$2" >>"$T/exec.out" 2>&1 || true
}

mkdir -p "$LOGS" "$CG"
cat >"$T/policy.yaml" <<EOF2
version: 1
mode: enforce
adopt:
  - name: reconciler-sa-token
    path: $SA/token
    match:
      kubernetes: {namespace: payments, pod: "reconciler-*", container: reconciler}
    holder: main
    inherit: children
    protect:
      - {cidr: 127.0.0.1/32, ports: $API, protocol: tcp}
EOF2
sed 's/^mode: enforce/mode: monitor/' "$T/policy.yaml" >"$T/policy.monitor.yaml"
cp "$T/policy.yaml" "$T/policy.in-force.yaml"
PB_POLICY=$T/policy.in-force.yaml start_agent --k8s-log-dir "$LOGS"
"$ACTOR" sink "$API" "$T/api.log" >"$T/apid.out" 2>&1 &
PIDS+=($!)
wait_line apid "sinking"

V1=$T/vol1
new_volume "$V1" "tok-1-$RANDOM$RANDOM"
C1=pbadopt1-$$
CID1=$(cid 0x11000001)
MAIN1=$(run_ctr "$C1" "$POD1" "$CID1" "$V1" reconciler-7f9c-x2 create)
[ "$MAIN1" -gt 0 ] || fail "no container pid"

# --- 1. bound before main runs; main claims it at its first read, and
# reads its token and calls the API
ev=$(wait_event ".event==\"credential_adopted\" and .credential.adopted.entry==\"reconciler-sa-token\" and
	(.credential.bound_process.cgroup|endswith(\"$CID1\"))")
ID1=$(jq -r .credential.id <<<"$ev")
jq -e '.how=="volume" and .credential.file=="'$SA'/token" and .credential.bound_process.pid==0 and
	.credential.adopted.pod=="payments/reconciler-7f9c-x2" and .credential.adopted.container=="reconciler"' \
	<<<"$ev" >/dev/null || fail "credential_adopted before start: $ev"
pass "created container $C1 (runtime's init, host PID $MAIN1): its token is bound and guarded before main runs"
"${RUNC[@]}" start "$C1" || fail "runc start"
ev=$(wait_event ".event==\"credential_adopted\" and .credential.id==\"$ID1\" and .credential.bound_process.pid==$MAIN1")
HOW=$(jq -r .how <<<"$ev")
[ "$HOW" = claimed ] || [ "$HOW" = holder ] || fail "holder event: $ev"
for _ in $(seq $((50 * SCALE))); do [ -s "$T/$C1.out" ] && break; sleep 0.1; done
[ "$(head -1 "$T/$C1.out")" = "main-read $(cat "$V1/..data/token")" ] ||
	{ cat "$T/$C1.out"; fail "main's first read of its token was not allowed"; }
pass "main (host PID $MAIN1, PID 1 in the container) became the holder ($HOW) and its first read was allowed"
TOK1=$(cat "$V1/..data/token")
for _ in $(seq $((100 * SCALE))); do file_has "$T/api.log" "Bearer $TOK1" && break; sleep 0.1; done
grep -q "GET /main" "$T/api.log" && grep -q "Bearer $TOK1" "$T/api.log" ||
	{ cat "$T/$C1.out"; fail "the main process's token never reached the API"; }
ev=$(wait_event ".event==\"credential_acquired\" and .credential.id==\"$ID1\" and .process.pid==$MAIN1")
jq -e --argjson m "$MAIN1" '.verdict=="allow" and .reason=="ok" and .credential.bound_process.pid==$m' <<<"$ev" >/dev/null ||
	fail "main's open of its token: $ev"
if [ "$HOW" = claimed ]; then
	# the guard bound main at that open; the agent writes the claim, then
	# the open that made it: two whole lines, in that order (the claim was
	# once written inside the open's line, which was lost)
	jq -e -s --arg id "$ID1" --argjson m "$MAIN1" '
		([.[] | select(.event == "credential_adopted" and .how == "claimed" and .credential.id == $id)][0].seq) as $c |
		([.[] | select(.event == "credential_acquired" and .credential.id == $id and .process.pid == $m)][0].seq) as $a |
		$c != null and $a != null and $c < $a' "$OUT" >/dev/null ||
		fail "the claim and main's open are not two lines in order: $(grep -c . "$OUT") lines"
	pass "the guard's claim of main and main's open are two whole lines, the claim first"
fi
ctl ps -o json | jq -e --argjson m "$MAIN1" --arg id "$ID1" '.[] | select(.pid==$m) | .held[] |
	select(.id==$id and .binding=="self")' >/dev/null || { ctl ps; match_events ".event==\"credential_acquired\"" | cut -c1-400; fail "ps: main does not hold the adopted token"; }
ctl ps -o json | jq -e --argjson m "$MAIN1" '.[] | select(.pid==$m) | .owns[] |
	select(.adopted=="reconciler-sa-token" and .file=="'$SA'/token" and .pod=="payments/reconciler-7f9c-x2")' >/dev/null ||
	{ ctl ps; fail "ps does not name the adopted credential by entry, path and pod"; }
ctl ps | grep -q "owns  $ID1 adopted=reconciler-sa-token file=$SA/token pod=payments/reconciler-7f9c-x2" ||
	{ ctl ps; fail "the ps table does not name the adopted credential"; }
pass "main (PID $MAIN1) reads the adopted token and calls the API; ps names it by entry, path and pod"

# --- 2. kubectl exec: a shell beside main
: >"$T/exec.out"
cx "$C1" "printf 'GET /exec HTTP/1.0\\r\\nAuthorization: Bearer %s\\r\\n\\r\\n' \"\$(cat $SA/token)\" | nc -w 1 127.0.0.1 $API; echo exec-done"
cx "$C1" "cat $SA/..data/token; cat $SA/..2*/token; echo exec-read-done"
cx "$C1" "nc -w 1 127.0.0.1 $API </dev/null && echo exec-connected; echo exec-connect-done"
cat "$T/exec.out"
grep -q "exec-done" "$T/exec.out" || fail "the exec'd shell did not run"
[ "$(grep -c 'Operation not permitted' "$T/exec.out")" -ge 4 ] || fail "the exec'd shell's reads and connects were not all refused"
! grep -q "$TOK1" "$T/exec.out" || fail "the exec'd shell read the token"
! grep -q "exec-connected" "$T/exec.out" || fail "the exec'd shell reached the protected API address"
! grep -q "GET /exec" "$T/api.log" || fail "the exec'd shell's request reached the API"
ev=$(wait_event ".event==\"credential_open_refused\" and .process.comm==\"cat\" and .credential.id==\"$ID1\"")
jq -e --argjson m "$MAIN1" '.reason=="foreign_pid" and .verdict=="deny" and .process.pod_uid=="'$POD1'" and
	.credential.bound_process.pid==$m and .credential.adopted.entry=="reconciler-sa-token"' <<<"$ev" >/dev/null ||
	fail "refusal event: $ev"
jq -e '(.process.exe | type == "string") and (.process.args | test("cat "))' <<<"$ev" >/dev/null ||
	fail "the runc exec shell's cat is not named by executable and arguments: $ev"
ev=$(wait_event ".event==\"connect\" and .verdict==\"deny\" and .process.comm==\"nc\" and .credential.id==\"$ID1\"")
jq -e --argjson m "$MAIN1" '.reason=="foreign_pid" and .credential.bound_process.pid==$m' <<<"$ev" >/dev/null ||
	fail "connect refusal event: $ev"
jq -e --arg api "$API" '(.process.exe | type == "string") and (.process.args | test("nc -w 1 127.0.0.1 " + $api))' \
	<<<"$ev" >/dev/null || fail "the refused connect does not name nc and its arguments: $ev"
# another pod (a cgroup the entry does not match) still reaches the API
actor otherpod "cgroup:$POD_A" "connect:tcp:127.0.0.1:$API"
wait_line otherpod "connect:"
grep -q "connect:tcp:127.0.0.1:$API ok" "$T/otherpod.out" || { cat "$T/otherpod.out"; fail "another pod could not reach the API"; }
pass "the exec'd shell: no token read, by any name, and no connect to the protected API; another pod still reaches it"

# --- 2b. another file of the volume: read freely (the guard stops being asked
# about it), until a reload adopts it too: then refused like the token
: >"$T/exec.out"
cx "$C1" "cat $SA/ca.crt; cat $SA/ca.crt; echo ca-read-done"
[ "$(grep -c ca-bundle "$T/exec.out")" = 2 ] || { cat "$T/exec.out"; fail "the volume's ca.crt was not readable"; }
cat >>"$T/policy.in-force.yaml" <<EOF2
  - name: reconciler-ca
    path: $SA/ca.crt
    match:
      kubernetes: {namespace: payments, pod: "reconciler-*", container: reconciler}
    holder: main
EOF2
ctl reload >/dev/null || fail "reload with the ca.crt entry"
wait_event ".event==\"credential_adopted\" and .credential.adopted.entry==\"reconciler-ca\"" >/dev/null
: >"$T/exec.out"
cx "$C1" "cat $SA/ca.crt; echo ca-read2-done"
grep -q ca-bundle "$T/exec.out" && fail "ca.crt, adopted after a shell had read it, was read again: $(cat "$T/exec.out")"
grep -q "Operation not permitted" "$T/exec.out" || fail "ca.crt after its adoption: $(cat "$T/exec.out")"
cp "$T/policy.yaml" "$T/policy.in-force.yaml"
ctl reload >/dev/null || fail "reload without the ca.crt entry"
wait_event ".event==\"credential_released\" and .credential.adopted.entry==\"reconciler-ca\"" >/dev/null
pass "the volume's ca.crt: read freely, then adopted by a reload and refused to the shell, then released"

# --- 3. rotations while a sibling reads in a tight loop
"${RUNC[@]}" exec -d "$C1" sh -c "while [ ! -e /tmp/stop ]; do cat $SA/token $SA/..data/token $SA/..2*/token 2>/dev/null; done >/tmp/stolen; echo done >/tmp/stopped" ||
	fail "runc exec -d"
sleep 0.5
TOKS=()
for r in 2 3 4; do
	t="tok-$r-$RANDOM$RANDOM"
	TOKS+=("$t")
	write_sa "$V1" "$t"
	sleep 0.4
done
sleep 0.5
touch "$B/rootfs/tmp/stop"
wait_file "$B/rootfs/tmp/stopped"
STOLEN=$(cat "$B/rootfs/tmp/stolen" 2>/dev/null || true)
[ -z "$STOLEN" ] || fail "the sibling read a token during the rotations: $(head -c 200 <<<"$STOLEN")"
for _ in $(seq $((100 * SCALE))); do file_has "$T/$C1.out" "main-read ${TOKS[2]}" && break; sleep 0.1; done
grep -q "main-read ${TOKS[2]}" "$T/$C1.out" || { tail -5 "$T/$C1.out"; fail "main never read the rotated token"; }
for _ in $(seq $((50 * SCALE))); do file_has "$T/api.log" "Bearer ${TOKS[2]}" && break; sleep 0.1; done
grep -q "Bearer ${TOKS[2]}" "$T/api.log" || fail "main's rotated token never reached the API"
! grep -q main-read-refused "$T/$C1.out" || fail "main was refused its own token"
n=$(count_events ".event==\"credential_open_refused\" and .credential.id==\"$ID1\" and .process.comm==\"cat\"")
[ "$n" -gt 3 ] || fail "the sibling's reads were not refused and reported ($n)"
ctl trail --dir "$T/state/audit" --pod "$POD1" -o json >"$T/trail.json" || fail "trail --pod"
m=$(jq -c 'select(.event=="credential_open_refused")' "$T/trail.json" | wc -l)
[ "$m" -ge "$n" ] || fail "trail --pod $POD1 shows $m refused reads, the stream $n"
pass "3 rotations under a sibling's tight loop: it read nothing ($n refusals, all in trail --pod), main read each"

# --- 4. a restarted container: its main is the holder; the old main's PID is not
"${RUNC[@]}" delete -f "$C1" >/dev/null
wait_event ".event==\"credential_released\" and .credential.id==\"$ID1\"" >/dev/null
C1B=pbadopt1b-$$
CID1B=$(cid 0x11000002)
MAIN1B=$(run_ctr "$C1B" "$POD1" "$CID1B" "$V1" reconciler-7f9c-x2)
ev=$(wait_event ".event==\"credential_adopted\" and (.credential.bound_process.cgroup|endswith(\"$CID1B\"))")
ID1B=$(jq -r .credential.id <<<"$ev")
for _ in $(seq $((100 * SCALE))); do file_has "$T/$C1B.out" "main-read ${TOKS[2]}" && break; sleep 0.1; done
grep -q "main-read ${TOKS[2]}" "$T/$C1B.out" || fail "the restarted main could not read the token"
ev=$(wait_event ".event==\"credential_acquired\" and .credential.id==\"$ID1B\" and .process.pid==$MAIN1B")
jq -e --argjson m "$MAIN1B" '.verdict=="allow" and .credential.bound_process.pid==$m' <<<"$ev" >/dev/null ||
	fail "the restarted main is not the holder: $ev"
# the old main's PID, taken by another process moved into the new container
wait_gone "$MAIN1"
reuse_pid reuser "$MAIN1" "cgroup:$CGROOT/pbtest-$$/kubepods/burstable/pod$POD1/$CID1B" \
	"read:/proc/$MAIN1B/root$SA/token" "connect:tcp:127.0.0.1:$API"
wait_line reuser "connect:"
grep -q "^$MAIN1 read:.* EPERM" "$T/reuser.out" ||
	{ cat "$T/reuser.out"; fail "the process with the old main's PID read the token"; }
grep -q "^$MAIN1 connect:.* EPERM" "$T/reuser.out" ||
	{ cat "$T/reuser.out"; fail "the process with the old main's PID reached the API"; }
pass "restarted container: main $MAIN1B holds the token; PID $MAIN1 reused in it gets neither token nor API"

# --- 5. a second pod: its own binding; deleting its container leaves nothing
V2=$T/vol2
new_volume "$V2" "tok-other-$RANDOM$RANDOM"
C2=pbadopt2-$$
CID2=$(cid 0x22000001)
MAIN2=$(run_ctr "$C2" "$POD2" "$CID2" "$V2" reconciler-5d4c-q8)
ev=$(wait_event ".event==\"credential_adopted\" and (.credential.bound_process.cgroup|endswith(\"$CID2\"))")
ID2=$(jq -r .credential.id <<<"$ev")
[ "$ID2" != "$ID1B" ] || fail "the second pod got the first one's credential"
TOK2=$(cat "$V2/..data/token")
for _ in $(seq $((100 * SCALE))); do file_has "$T/api.log" "Bearer $TOK2" && break; sleep 0.1; done
grep -q "Bearer $TOK2" "$T/api.log" || fail "the second pod's main could not use its own token"
CGID2=$(stat -c %i "$CGROOT/pbtest-$$/kubepods/burstable/pod$POD2/$CID2")
SDEV2=$(printf '%x' "$(stat -c %d "$V2")")
fan_marks() { # the agent's fanotify group (the guard answers in the same one)
	local fd
	for fd in /proc/"$AGENT_PID"/fd/*; do
		[ "$(readlink "$fd")" = "anon_inode:[fanotify]" ] && cat "/proc/$AGENT_PID/fdinfo/${fd##*/}"
	done
	return 0
}
fan_marks | grep -q "sdev:$SDEV2 " || { fan_marks; fail "the second pod's volume is not marked"; }
pass "a second pod ($C2) has its own binding ($ID2) and its volume is marked"

# what the kernel holds for the second pod's binding (bpftool prints the
# maps with their BTF: numbers as numbers)
ID2D=$(printf '%u' "0x$ID2")
held_by_pod2() {
	echo "creds $(PINMAP creds | jq --argjson id "$ID2D" '[.[] | select(.formatted.key==$id)] | length')"
	echo "cred_files $(PINMAP cred_files | jq --argjson id "$ID2D" '[.[] | select(.formatted.value==$id)] | length')"
	echo "adopt_files $(PINMAP adopt_files | jq --argjson id "$ID2D" '[.[] | select(.formatted.value==$id)] | length')"
	echo "adopt_cg $(PINMAP adopt_cg | jq --argjson cg "$CGID2" '[.[] | select(.formatted.key==$cg)] | length')"
}
PINMAP() { bpftool -j map dump pinned "$PIN/$1"; }
held_by_pod2 >"$T/before"
[ "$(awk '$2 >= 1' "$T/before" | wc -l)" = 4 ] || { cat "$T/before"; fail "the second pod's binding is not in every map"; }
"${RUNC[@]}" delete -f "$C2" >/dev/null
wait_event ".event==\"credential_released\" and .credential.id==\"$ID2\" and .how==\"container_gone\"" >/dev/null
held_by_pod2 >"$T/after"
[ "$(awk '$2 == 0' "$T/after" | wc -l)" = 4 ] || { cat "$T/after"; fail "the deleted container left map entries"; }
! fan_marks | grep -q "sdev:$SDEV2 " || { fan_marks; fail "the deleted container's volume is still marked"; }
for p in "$AGENT_PID" $(pgrep -x procbind-guard); do
	! ls -l /proc/"$p"/fd 2>/dev/null | grep -q "$V2" || fail "process $p keeps a descriptor on $V2"
done
umount "$V2" || fail "the deleted container's volume cannot be unmounted (busy)"
pass "deleted container: no map entry, no mark, no descriptor left; its volume unmounts"

# --- agent restart: the guard and the pins keep the file refused meanwhile;
# the next agent binds the same credential again, and follows rotations
stop_agent
: >"$T/exec.out"
cx "$C1B" "cat $SA/token; echo agent-down-done"
grep -q "Operation not permitted" "$T/exec.out" || { cat "$T/exec.out"; fail "read the token while no agent ran"; }
PB_POLICY=$T/policy.in-force.yaml start_agent --k8s-log-dir "$LOGS"
ev=$(wait_event ".event==\"credential_adopted\" and (.credential.bound_process.cgroup|endswith(\"$CID1B\"))")
[ "$(jq -r .credential.id <<<"$ev")" = "$ID1B" ] || fail "the next agent bound another credential: $ev"
T5="tok-5-$RANDOM$RANDOM"
write_sa "$V1" "$T5"
sleep 0.3
: >"$T/exec.out"
cx "$C1B" "cat $SA/token $SA/..data/token; echo after-restart-done"
! grep -q "$T5" "$T/exec.out" || fail "a sibling read the token rotated after the agent restarted"
for _ in $(seq $((50 * SCALE))); do file_has "$T/$C1B.out" "main-read $T5" && break; sleep 0.1; done
grep -q "main-read $T5" "$T/$C1B.out" || fail "main did not read the token rotated after the restart"
pass "agent restart: refused while down, the same credential bound again ($ID1B), rotations followed"

# --- 6. monitor mode: reported, nothing refused
cp "$T/policy.monitor.yaml" "$T/policy.in-force.yaml"
ctl reload >/dev/null || fail "reload to monitor mode"
: >"$T/exec.out"
cx "$C1B" "printf 'GET /exec-monitor HTTP/1.0\\r\\nAuthorization: Bearer %s\\r\\n\\r\\n' \"\$(cat $SA/token)\" | nc -w 1 127.0.0.1 $API; echo exec-done"
for _ in $(seq $((50 * SCALE))); do file_has "$T/api.log" "GET /exec-monitor" && break; sleep 0.1; done
grep -q "GET /exec-monitor" "$T/api.log" || { cat "$T/exec.out"; fail "monitor mode refused the exec'd shell"; }
ev=$(wait_event ".event==\"credential_acquired\" and .verdict==\"monitor\" and .process.comm==\"cat\" and .credential.id==\"$ID1B\"")
jq -e '.verdict=="monitor" and .reason=="foreign_pid"' <<<"$ev" >/dev/null || fail "monitor file event: $ev"
ev=$(wait_event ".event==\"connect\" and .verdict==\"monitor\" and .process.comm==\"nc\" and .credential.id==\"$ID1B\"")
jq -e '.verdict=="monitor"' <<<"$ev" >/dev/null || fail "monitor connect event: $ev"
pass "monitor mode: the exec'd shell's read and connect are reported, not refused"

# --- 7. an entry taken out of the policy lets go of its files
printf 'version: 1\nmode: enforce\n' >"$T/policy.in-force.yaml"
ctl reload >/dev/null || fail "reload without adopt"
wait_event ".event==\"credential_released\" and .credential.id==\"$ID1B\" and .how==\"policy\"" >/dev/null
[ "$(PINMAP creds | jq '[.[] | select(.formatted.value.flags % 8 >= 4)] | length')" = 0 ] ||
	fail "adopted credentials stayed in the kernel after their entry was removed"
: >"$T/exec.out"
cx "$C1B" "cat $SA/token >/dev/null && echo read-after-release"
grep -q read-after-release "$T/exec.out" || { cat "$T/exec.out"; fail "the file stayed guarded after its entry was removed"; }
pass "entry removed from the policy: the binding is released, the file is the pod's again"
