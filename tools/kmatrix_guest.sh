#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# PID 1 of a kernel-matrix guest, on the host's root (read-only 9p under a
# tmpfs overlay): mount what a node has (cgroup2, bpffs, tracefs), run the
# kernel probe and the integration suite built on the host, report each
# result on the console as PBMATRIX lines for tools/kmatrix.sh, power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
export PB_TIME_SCALE=5 # TCG runs the suite several times slower than the host

off() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 30
}
trap off EXIT

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
ip link set lo up

KDIR= BUILD= REGEX= EXEC= SRC=
for a in $(cat /proc/cmdline); do
	case $a in
	pb.kdir=*) KDIR=${a#pb.kdir=} ;;
	pb.build=*) BUILD=${a#pb.build=} ;;
	pb.regex=*) REGEX=${a#pb.regex=} ;;
	pb.exec=*) EXEC=${a#pb.exec=} ;;
	pb.src=*) SRC=${a#pb.src=} ;;
	esac
done
# /tmp is a tmpfs, as on a node: token files the tests write there must not be
# on the overlay (overlayfs reports a layer's device to stat, not the one the
# kernel sees). A source or build tree under /tmp (CI clones there) is kept,
# bind-mounted back over the tmpfs.
keep=()
for d in "$SRC" "$BUILD"; do
	case $d in /tmp/*) keep+=("$d") ;; esac
done
for i in "${!keep[@]}"; do
	mkdir -p "/run/keep$i" && mount --bind "${keep[$i]}" "/run/keep$i"
done
mount -t tmpfs tmpfs /tmp
for i in "${!keep[@]}"; do
	mkdir -p "${keep[$i]}" && mount --move "/run/keep$i" "${keep[$i]}"
done

# modprobe finds the guest kernel's modules in its unpacked package
mkdir -p /lib/modules
ln -sfn "$KDIR/lib/modules/$(uname -r)" "/lib/modules/$(uname -r)"

echo "PBMATRIX uname $(uname -r)"
echo "PBMATRIX lsm $(cat /sys/kernel/security/lsm 2>/dev/null)"
"$BUILD/procbindd" --probe >/tmp/probe.out 2>&1
sed 's/^/PBMATRIX probe /' /tmp/probe.out
# features: every probe row, "name=yes|no|MISSING", for the host's table
echo "PBMATRIX features $(awk '/^  / { v = ($0 ~ / yes /) ? "yes" : ($0 ~ / MISSING /) ? "MISSING" : "no";
	line = $0; sub(/^  /, "", line); name = substr(line, 1, 28); gsub(/ +$/, "", name); gsub(/ /, "_", name);
	printf "%s=%s ", name, v }' /tmp/probe.out)"

cd "$BUILD" || exit 1
if [ -n "$EXEC" ]; then
	bash "$EXEC" 2>&1
	echo "PBMATRIX done passed=0 failed=0 skipped=0 (-x)"
	exit 0
fi
rm -rf Testing
# tests picked by name (-r) run even when labelled host_only: asked for
ctest -L integration ${REGEX:+-R "$REGEX"} $([ -n "$REGEX" ] || echo -LE host_only) \
	--output-on-failure 2>&1 | tee /tmp/ctest.out
pass=0 fail=0 skip=0
while read -r name status; do
	case $status in
	Passed) pass=$((pass + 1)) ;;
	Skipped)
		skip=$((skip + 1))
		why=$(awk -v t="$name" '$0 ~ "Testing: "t"$" { on = 1 } on && /^SKIP: / { sub(/^SKIP: /, ""); print; exit }' \
			Testing/Temporary/LastTest.log 2>/dev/null)
		status="Skipped ${why:-(no reason printed)}"
		;;
	*) fail=$((fail + 1)) ;;
	esac
	echo "PBMATRIX test $name $status"
done < <(sed -n 's/^ *[0-9]*\/[0-9]* Test *#[0-9]*: \([^ ]*\) \.*\** *\([A-Za-z]*\).*/\1 \2/p' /tmp/ctest.out)
# every test's own output, for the log kept on the host
sed 's/^/PBLOG /' Testing/Temporary/LastTest.log 2>/dev/null
echo "PBMATRIX done passed=$pass failed=$fail skipped=$skip"
