#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The Debian package, as a host without Kubernetes gets it: cpack builds it
# from this build, lintian finds no error, dpkg installs it, the installed
# agent starts from the unit's own ExecStart line (no systemd runs here, so
# the test does what the unit would) and refuses a sibling; an upgrade to a
# package with a bumped version, the agent restarted the way the unit
# restarts it, while a sibling reads the token in a loop: never once; a
# remove stops the agent and leaves the pins (still refused); a purge leaves
# no pin, state, process or file behind.
. "$(dirname "$0")/lib.sh"
for t in cpack dpkg dpkg-deb lintian systemd-analyze; do
	command -v "$t" >/dev/null || skip "$t is not installed (the README's test command installs it)"
done
! dpkg -s procbind >/dev/null 2>&1 || skip "a procbind package is installed on this machine; this test installs and purges its own"
[ ! -e /sys/fs/bpf/procbind ] || skip "an agent's pins are at /sys/fs/bpf/procbind; this test needs the default place free"
[ -f "$BUILD/CPackConfig.cmake" ] || fail "no CPackConfig.cmake in $BUILD"

PIN=/sys/fs/bpf/procbind # what lib.sh's cleanup removes, if the purge did not
SOCK=/run/procbind/control.sock
ctl() { /usr/sbin/procbindctl --socket "$SOCK" "$@"; }
UNIT=/lib/systemd/system/procbind.service
pkg_cleanup() {
	touch "$T/stop"
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	dpkg -P procbind >/dev/null 2>&1
	rm -f /var/lib/prometheus/node-exporter/procbind.prom
	return 0
}
trap 'rc=$?; set +e; pkg_cleanup; (exit $rc); cleanup' EXIT

# --- build, inspect, lint
VER=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$BUILD/CPackConfig.cmake")
[ -n "$VER" ] || fail "no version in CPackConfig.cmake"
NEXT=${VER%.*}.$((${VER##*.} + 1))
(cd "$T" && cpack --config "$BUILD/CPackConfig.cmake" -G DEB -B "$T/v1" >"$T/cpack1.log" 2>&1) ||
	{ cat "$T/cpack1.log"; fail "cpack"; }
(cd "$T" && cpack --config "$BUILD/CPackConfig.cmake" -G DEB -B "$T/v2" -D CPACK_PACKAGE_VERSION="$NEXT" \
	>"$T/cpack2.log" 2>&1) || { cat "$T/cpack2.log"; fail "cpack (bumped version)"; }
DEB1=$T/v1/procbind_${VER}-1_amd64.deb
DEB2=$T/v2/procbind_${NEXT}-1_amd64.deb
[ -f "$DEB1" ] && [ -f "$DEB2" ] || { ls -R "$T/v1" "$T/v2"; fail "the packages are not named procbind_VERSION-1_amd64.deb"; }
dpkg-deb -c "$DEB1" | awk '{print $6}' >"$T/contents"
for f in ./usr/sbin/procbindd ./usr/sbin/procbindctl ./lib/systemd/system/procbind.service \
	./etc/procbind/policy.yaml ./usr/share/doc/procbind/copyright ./usr/share/doc/procbind/changelog.Debian.gz \
	./usr/share/doc/procbind/operator.md ./usr/share/doc/procbind/policy.example.yaml \
	./usr/share/man/man8/procbindd.8.gz ./usr/share/man/man8/procbindctl.8.gz \
	./usr/share/man/man5/procbind-policy.5.gz; do
	grep -qx "$f" "$T/contents" || { cat "$T/contents"; fail "the package lacks $f"; }
done
grep -v '/$' "$T/contents" | grep -v -E '^\./(usr/sbin/procbind(d|ctl)|usr/share/doc/procbind/[^/]+|usr/share/man/man8/procbind(d|ctl)\.8\.gz|usr/share/man/man5/procbind-policy\.5\.gz|lib/systemd/system/procbind\.service|etc/procbind/policy\.yaml)$' >"$T/elsewhere" || true
[ ! -s "$T/elsewhere" ] || fail "the package holds files elsewhere: $(head -3 "$T/elsewhere")"
[ "$(dpkg-deb --ctrl-tarfile "$DEB1" | tar -xO ./conffiles)" = /etc/procbind/policy.yaml ] ||
	fail "the policy is not a conffile"
DEPS=$(dpkg-deb -f "$DEB1" Depends)
for lib in libbpf1 libelf1 libsodium23 libyaml-0-2 libjansson4 libmicrohttpd12 libc6; do
	[[ $DEPS == *"$lib"* ]] || [ "$lib" = libelf1 ] || fail "Depends lacks $lib: $DEPS"
done
lintian --fail-on error "$DEB1" >"$T/lintian.out" 2>&1 || { cat "$T/lintian.out"; fail "lintian reports errors"; }
grep -q '^E:' "$T/lintian.out" && fail "lintian: $(grep '^E:' "$T/lintian.out")"
pass "cpack built procbind_${VER}-1 and _${NEXT}-1; lintian: 0 errors, $(grep -c '^W:' "$T/lintian.out") warnings; Depends: $DEPS"

# --- install, probe, verify the unit
dpkg -i "$DEB1" >"$T/dpkg1.log" 2>&1 || { cat "$T/dpkg1.log"; fail "dpkg -i"; }
/usr/sbin/procbindd --probe >"$T/probe.out" 2>&1 || { cat "$T/probe.out"; fail "the installed procbindd --probe"; }
[ "$(/usr/sbin/procbindd --version)" = "procbindd $VER" ] || fail "procbindd --version: $(/usr/sbin/procbindd --version)"
# the packaged binaries carry Debian's hardening
bash "$PB_SOURCE/tests/lint/check_hardening.sh" "$BUILD" /usr/sbin/procbindd /usr/sbin/procbindctl \
	>"$T/hardening.out" 2>&1 || { rc=$?; [ "$rc" = 77 ] || { cat "$T/hardening.out"; fail "the package's binaries are not hardened"; }; }
cat "$T/hardening.out"
systemd-analyze verify "$UNIT" >"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "systemd-analyze verify $UNIT"; }
[ ! -s "$T/verify.out" ] || { cat "$T/verify.out"; fail "systemd-analyze verify printed something"; }
# the sandbox: systemd's own exposure score of the installed unit
if systemd-analyze security --offline=yes "$UNIT" >"$T/security.out" 2>&1; then
	score=$(sed -n 's/.*Overall exposure level for procbind.service: \([0-9.]*\).*/\1/p' "$T/security.out")
	[ -n "$score" ] || { cat "$T/security.out"; fail "no exposure score"; }
	awk -v s="$score" 'BEGIN { exit !(s <= 5.0) }' ||
		{ grep '✗' "$T/security.out"; fail "systemd-analyze security: exposure $score (was 4.3; at most 5.0)"; }
	pass "systemd-analyze security --offline=yes on the installed unit: exposure $score ($(sed -n 's/.*: [0-9.]* \([A-Z]*\).*/\1/p' "$T/security.out" | tail -1))"
else
	echo "SKIP (part): systemd-analyze security --offline=yes is not available: $(head -1 "$T/security.out")"
fi
EXEC=$(sed -n 's/^ExecStart=//p' "$UNIT")
[[ $EXEC == /usr/sbin/procbindd\ * ]] || fail "the unit does not start the installed agent: $EXEC"
pass "dpkg -i: the installed procbindd --probe passes; systemd-analyze verify is clean on the installed unit"

# Start it as systemd would: StateDirectory= and RuntimeDirectory= first,
# then ExecStart= as written (KillMode=process: a stop signals the agent only).
start_unit() {
	mkdir -p -m 0700 /var/lib/procbind
	mkdir -p -m 0755 /run/procbind
	mkdir -p /var/lib/prometheus/node-exporter # its ExecStartPre=
	rm -f "$SOCK"
	bash -c "exec $EXEC" >>"$OUT" 2>>"$T/agent.log" & # the agent itself, not a shell around it
	AGENT_PID=$!
	wait_agent_ready
}
stop_unit() {
	local pid=$AGENT_PID
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	AGENT_PID=
	[ "$(cat /proc/"$pid"/comm 2>/dev/null)" != procbindd ] || fail "agent $pid did not stop"
}

cp "$PB_SOURCE/tests/integration/policy.yaml" /etc/procbind/policy.yaml # the admin's edit
mkdir -p "$POD_A"
start_unit
actor owner "cgroup:$POD_A" "pidfile:$T/owner.pid" "wait:$T/minted" "read:$T/tok" "sleep:600000"
OWNER=$(started owner)
ID=$(mint "$OWNER" "$T/tok")
[ -n "$ID" ] || fail "mint with the installed agent"
touch "$T/minted"
wait_line owner "read:$T/tok"
grep -q "read:$T/tok ok" "$T/owner.out" || { cat "$T/owner.out"; fail "the owner could not read its token"; }
# a sibling in the same cgroup reads the token in a loop from here to the purge
sibling_reads "$T/tok" "$T/sibling.out"
sleep 1
grep -q LEAK "$T/sibling.out" && fail "the installed agent let a sibling read the token"
wait_event ".event==\"credential_open_refused\" and .credential.id==\"$ID\" and .process.comm==\"cat\"" >/dev/null
pass "the installed agent, started by the unit's ExecStart, refuses a sibling (credential $ID)"
PROM=/var/lib/prometheus/node-exporter/procbind.prom
for _ in $(seq 40); do [ -s "$PROM" ] && break; sleep 0.1; done
[ "$(stat -c %a "$PROM" 2>/dev/null)" = 644 ] || fail "the unit's metrics file: $(ls -l "$PROM" 2>&1)"
pass "the unit's metrics file is $PROM (0644), where node_exporter's textfile collector reads"

# --- upgrade while the credential is live
dpkg -i --force-confold "$DEB2" >"$T/dpkg2.log" 2>&1 || { cat "$T/dpkg2.log"; fail "dpkg -i (upgrade)"; }
[ "$(dpkg-query -W -f '${Version}' procbind)" = "${NEXT}-1" ] || fail "the upgrade did not install ${NEXT}-1"
cmp -s "$PB_SOURCE/tests/integration/policy.yaml" /etc/procbind/policy.yaml || fail "the upgrade replaced the edited policy"
stop_unit # what systemctl restart does (postinst: try-restart)
start_unit
wait_event ".event==\"agent_started\" and .adopted==true" >/dev/null
sleep 1
grep -q LEAK "$T/sibling.out" && fail "the sibling read the token during the upgrade: $(grep LEAK "$T/sibling.out" | head -1)"
ctl ps -o json | jq -e --arg id "$ID" '.[] | .owns[] | select(.id==$id)' >/dev/null ||
	{ ctl ps -o json | head -c 1500; tail -5 "$T/agent.log"; fail "the upgraded agent does not know the live credential"; }
pass "upgrade to ${NEXT}-1 with the agent restarted as the unit does: the sibling never read the token, the credential lives on"

# --- remove: stopped, pins left, still refused
GUARD=$(ctl status -o json | jq -r .guard.pid)
[ "$GUARD" -gt 0 ] || fail "no guard pid in status"
stop_unit # what prerm's systemctl stop does
dpkg -r procbind >"$T/dpkg3.log" 2>&1 || { cat "$T/dpkg3.log"; fail "dpkg -r"; }
[ ! -e /usr/sbin/procbindd ] || fail "dpkg -r left the agent"
[ -d /sys/fs/bpf/procbind ] || fail "dpkg -r removed the pins (a stop leaves them)"
[ "$(cat /proc/"$GUARD"/comm 2>/dev/null)" = procbind-guard ] || fail "no guard after dpkg -r (a stop leaves it answering)"
sleep 1
grep -q LEAK "$T/sibling.out" && fail "the sibling read the token after dpkg -r"
pass "dpkg -r: the agent is gone, the pins and the guard stay, the sibling is still refused"

# --- purge: nothing left
touch "$T/stop"
wait_line sibling "tries"
LINKS=$(for l in /sys/fs/bpf/procbind/link_*; do bpftool -j link show pinned "$l" | jq .id; done)
[ -n "$LINKS" ] || fail "no pinned links before the purge"
dpkg -P procbind >"$T/dpkg4.log" 2>&1 || { cat "$T/dpkg4.log"; fail "dpkg -P"; }
for _ in $(seq 50); do [ -e /proc/"$GUARD" ] || break; sleep 0.1; done
left=""
for p in /sys/fs/bpf/procbind /var/lib/procbind /run/procbind /etc/procbind /usr/sbin/procbindd \
	/usr/sbin/procbindctl "$UNIT" /usr/share/doc/procbind /usr/share/man/man8/procbindd.8.gz; do
	[ ! -e "$p" ] || left+=" $p"
done
[ -z "$left" ] || fail "the purge left:$left"
[ "$(cat /proc/"$GUARD"/comm 2>/dev/null)" != procbind-guard ] || fail "the purge left the guard ($GUARD)"
! dpkg -s procbind >/dev/null 2>&1 || fail "dpkg still knows procbind after the purge"
for id in $LINKS; do
	! bpftool link show id "$id" >/dev/null 2>&1 || fail "link $id (a hook) is still there after the purge"
done
cat "$T/tok" >/dev/null 2>&1 || fail "the token file is still guarded after the purge"
pass "dpkg -P: no pin, state, runtime directory, policy, file, guard or hook ($(echo $LINKS | wc -w) links) left; the token file is plain again"
