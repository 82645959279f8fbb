#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Kernel matrix: run procbind's integration suite, built once on this host,
# under Debian's stock kernels booted with qemu (TCG; no KVM needed).
#
#   kmatrix.sh [-b BUILD] [-c CACHE] [-t SECONDS] [-j GUESTS] [-r REGEX] [-x CMD] [KERNEL...]
#
# KERNEL is 5.10, 6.1, 6.12 or 6.18, optionally +lsm (booted with
# lsm=...,bpf so BPF-LSM is active). Default: 5.10 6.1 6.1+lsm 6.12 6.18.
# -b the build directory (default SRC/build), -c where kernels are kept
# (default /var/cache/procbind-kmatrix), -t the limit per guest (default
# 1500 s), -j how many guests run side by side (default: one per core),
# -r a ctest regex (default: every integration test), -x a shell command
# to run in the guest instead of the suite (its output is the log).
#
# Kernels come from Debian's archive with apt-get download, through an apt
# configuration of their own (sources, lists and cache under CACHE), so the
# machine's apt sources are not touched: 5.10 from bullseye, 6.1 from bookworm,
# 6.12 from bookworm-security, 6.18 from trixie-backports; the generic amd64
# flavour (the cloud one has no 9p). Each guest gets an initramfs of
# busybox-static that loads virtio, 9p and overlay from the kernel's own
# package, mounts this host's root read-only over 9p with a tmpfs overlay,
# and switch_roots into tools/kmatrix_guest.sh, which runs the suite and
# reports on the serial console. Nothing is compiled in the guest.
#
# Prints one row per kernel and exits 1 if any test failed or a guest did
# not report; skipped tests are listed with their reason. A guest kernel
# that soft-locks panics (softlockup_panic, every CPU's trace in its log)
# and is booted once more; its row names the kept log. Exits 77 (skipped,
# with the reason) when it cannot run here at all: not root, no qemu, or
# Debian's archive unreachable.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build
CACHE=/var/cache/procbind-kmatrix
LIMIT=1500
REGEX=
EXEC=
JOBS=$(nproc)
while getopts "b:c:t:j:r:x:h" o; do
	case $o in
	b) BUILD=$(cd "$OPTARG" && pwd) ;;
	c) CACHE=$OPTARG ;;
	t) LIMIT=$OPTARG ;;
	j) JOBS=$OPTARG ;;
	r) REGEX=$OPTARG ;;
	x) EXEC=$OPTARG ;;
	*) sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
KERNELS=("$@")
[ ${#KERNELS[@]} -gt 0 ] || KERNELS=(5.10 6.1 6.1+lsm 6.12 6.18)

[ "$(id -u)" = 0 ] || { echo "SKIP: kmatrix needs root (the suite loads BPF in the guests)"; exit 77; }
[ -x "$BUILD/procbindd" ] || { echo "kmatrix: no procbindd in $BUILD: build first"; exit 2; }
for t in qemu-system-x86_64 busybox depmod modprobe cpio; do
	command -v $t >/dev/null && continue
	echo "SKIP: kmatrix: $t missing: apt-get install -y qemu-system-x86 busybox-static kmod cpio"
	exit 77
done

mkdir -p "$CACHE"/apt/{lists/partial,cache/archives/partial} "$CACHE/deb" "$CACHE/k"
cat >"$CACHE/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bullseye main
deb http://deb.debian.org/debian-security bullseye-security main
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian-security bookworm-security main
deb http://deb.debian.org/debian trixie-backports main
EOF
APT=(-o Dir::Etc::SourceList="$CACHE/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$CACHE/apt/lists" -o Dir::Cache="$CACHE/apt/cache"
	-o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
apt_updated=0

# package SERIES: the newest generic amd64 image of that series in the archive
package() {
	local re
	case $1 in
	5.10) re='^linux-image-5\.10\.[0-9]+-[0-9]+-amd64-unsigned$' ;;
	6.1) re='^linux-image-6\.1\.[0-9]+-[0-9]+-amd64-unsigned$' ;;
	6.12) re='^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
	6.18) re='^linux-image-6\.18\.[0-9]+\+deb13-amd64$' ;; # backports: signed only
	*) return 1 ;;
	esac
	for p in $(apt-cache "${APT[@]}" pkgnames linux-image- | grep -E "$re" | sort -rV); do
		# a name some package only refers to has no version to download
		[ -n "$(apt-cache "${APT[@]}" madison "$p")" ] && { echo "$p"; return 0; }
	done
	return 1
}

# modroot KDIR: where lib/modules is (trixie's packages ship it in /usr)
modroot() {
	if [ -d "$1/lib/modules" ]; then echo "$1"; else echo "$1/usr"; fi
}

# fetch SERIES: unpack the kernel into $CACHE/k/PKG; prints that directory
fetch() {
	local pkg dir deb
	if [ $apt_updated = 0 ]; then
		apt-get "${APT[@]}" -qq update >&2 || return 2
		apt_updated=1
	fi
	pkg=$(package "$1") || { echo "kmatrix: no $1 kernel in the archive" >&2; return 1; }
	dir=$CACHE/k/$pkg
	if [ ! -f "$dir/.ready" ]; then
		rm -rf "$dir" && mkdir -p "$dir"
		(cd "$CACHE/deb" && apt-get "${APT[@]}" -qq download "$pkg" >&2)
		deb=$(ls -t "$CACHE/deb/${pkg}_"*.deb | head -1)
		dpkg-deb -x "$deb" "$dir"
		depmod -b "$(modroot "$dir")" "$(ls "$(modroot "$dir")/lib/modules")"
		touch "$dir/.ready"
	fi
	echo "$dir"
}

# initramfs KDIR OUT: busybox, the modules for virtio-9p and overlay, /init
initramfs() {
	local kdir out=$2 kver ir m
	kdir=$(modroot "$1")
	kver=$(ls "$kdir/lib/modules")
	ir=$(mktemp -d)
	mkdir -p "$ir"/{bin,mod,proc,sys,dev,lower,rw,newroot}
	mknod "$ir/dev/console" c 5 1 # the kernel gives /init its stdio on it
	cp /bin/busybox "$ir/bin/busybox"
	for c in sh mount umount insmod mkdir cat switch_root sleep echo poweroff; do
		ln -s busybox "$ir/bin/$c"
	done
	: >"$ir/mod/order"
	for m in virtio_pci 9pnet_virtio 9p overlay; do
		modprobe -d "$kdir" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r m; do
		# busybox insmod takes plain .ko: unpack what Debian compressed
		case $m in
		*.xz) xz -dc "$m" >"$ir/mod/$(basename "$m" .xz)" ;;
		*.zst) zstd -qdc "$m" >"$ir/mod/$(basename "$m" .zst)" ;;
		*) cp "$m" "$ir/mod/" ;;
		esac
		basename "${m%.xz}" | sed 's/\.zst$//' >>"$ir/mod/order"
	done
	cp "$SRC/tools/kmatrix_init.sh" "$ir/init"
	chmod +x "$ir/init"
	(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
	rm -rf "$ir"
}

# boot SERIES[+lsm] LOG: run the suite in a guest; the log is its console
boot() {
	local spec=$1 log=$2 series=${1%+lsm} kdir kver append
	kdir=${KDIRS[$series]}
	kver=$(ls "$(modroot "$kdir")/lib/modules")
	initramfs "$kdir" "$WORK/initrd-$spec.gz"
	# TSC as the clocksource: without it older kernels fall back to the HPET,
	# whose every read traps into qemu, which makes exec and sleep crawl
	# A soft lockup panics the guest (it ends at once, with the stack of
	# every CPU in the log: loglevel 5 lets the traces through)
	# init_on_alloc=0: Debian's kernels zero every page they hand out, which
	# under TCG made each exec of the suite's tools 3x slower (10 execs of
	# /bin/true 1.35 s to 0.47 s, the agent's start 5.2 s to 3.6 s on
	# 5.10). It hardens the kernel's own memory and changes nothing that
	# procbind's programs or tests see; nor does mitigations=off.
	append="console=ttyS0 panic=-1 quiet loglevel=5 tsc=reliable clocksource=tsc mitigations=off"
	append+=" init_on_alloc=0"
	append+=" softlockup_panic=1 softlockup_all_cpu_backtrace=1 ${PB_KMATRIX_APPEND:-}"
	append+=" pb.kdir=$(modroot "$kdir") pb.build=$BUILD pb.src=$SRC"
	[ -n "$REGEX" ] && append+=" pb.regex=$REGEX"
	if [ -n "$EXEC" ]; then
		printf '%s\n' "$EXEC" >"$WORK/exec.sh"
		append+=" pb.exec=$WORK/exec.sh"
	fi
	# Guests side by side: each is one host thread (below). At nice 10
	# they take the CPU the host's own tests leave, so those keep their
	# timing when ctest runs them beside the matrix.
	# BPF-LSM on in the +lsm row, off in the others, whatever the
	# kernel's CONFIG_LSM default (Debian's 6.1 already lists bpf)
	if [[ $spec == *+lsm ]]; then
		append+=" lsm=lockdown,capability,landlock,yama,apparmor,bpf"
	else
		append+=" lsm=lockdown,capability,landlock,yama,apparmor"
	fi
	# One host thread runs both vCPUs in turn (thread=single). With a
	# thread per vCPU (thread=multi, about 1.6x faster) the guest kernels
	# here died now and then at boot or when a program attached: an int3
	# left by text_poke_bp at a static-key site was executed after the
	# patch had finished (6.12 and 6.18 in one CI run, RIP one byte into
	# the patched instruction), i.e. a vCPU ran stale translated code.
	# PB_KMATRIX_TCG_THREAD=multi brings the faster mode back.
	timeout --foreground -k 10 "$LIMIT" nice -n 10 qemu-system-x86_64 -nographic -no-reboot \
		-machine q35 -cpu "${PB_KMATRIX_CPU:-max}" -accel "tcg,thread=${PB_KMATRIX_TCG_THREAD:-single}" -smp 2 -m 2048 \
		-kernel "$kdir/boot/vmlinuz-$kver" -initrd "$WORK/initrd-$spec.gz" \
		-append "$append" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-nic none -serial mon:stdio </dev/null >"$log" 2>&1 || true
}

WORK=$(mktemp -d /var/tmp/pbkmatrix.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
LOGDIR=${PB_KMATRIX_LOGS:-$BUILD/kmatrix}
mkdir -p "$LOGDIR"
rows=() bad=0 unreachable=0
T0=$(date +%s)

# The kernels first, one after another under a lock: every kmatrix.sh on
# this machine (ctest starts one per row, side by side) shares the cache
# and its apt lists.
declare -A KDIRS=() MISSING=()
exec {lockfd}>"$CACHE/.lock"
flock "$lockfd"
for k in "${KERNELS[@]}"; do
	series=${k%+lsm}
	[ -n "${KDIRS[$series]:-}${MISSING[$series]:-}" ] && continue
	rc=0
	fetch "$series" >"$WORK/kdir" || rc=$?
	if [ $rc = 0 ]; then
		KDIRS[$series]=$(cat "$WORK/kdir")
	else
		MISSING[$series]=$rc
	fi
done
flock -u "$lockfd"

# run_row KERNEL: boot its guest, run the suite; writes the row to
# $WORK/row.KERNEL and what it has to say to $WORK/say.KERNEL
run_row() {
	local k=$1 log=$LOGDIR/$1.log start note rc try secs done_line release feats p f s was_running panic
	local say=$WORK/say.$1 row=$WORK/row.$1
	exec 2>>"$say"
	start=$(date +%s)
	note=
	for try in 1 2; do
		rc=0
		boot "$k" "$log" || rc=$?
		[ $rc = 0 ] || break
		tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' >"$log.clean"
		# A guest whose kernel soft-locked (softlockup_panic ends it at
		# once) is booted once more. Its log is kept and its traces are
		# printed, and the row says so: it is reported, not hidden.
		grep -aq 'soft lockup' "$log.clean" && [ $try = 1 ] || break
		mv "$log" "$log.lockup"
		mv "$log.clean" "$log.lockup.clean"
		echo "  $k: the guest kernel soft-locked (log $log.lockup); booting it once more. What ran:" >&2
		grep -a -E 'soft lockup|^ *Start +[0-9]+:|^\[ *[0-9.]+\]  (\? )?[A-Za-z_0-9.]+\+0x' \
			"$log.lockup.clean" | tail -80 | sed "s/^/  $k| /" >&2
		note=" [first boot soft-locked: $log.lockup]"
	done
	secs=$(($(date +%s) - start))
	done_line=$(grep -a '^PBMATRIX done ' "$log.clean" | tail -1 || true)
	release=$(grep -a '^PBMATRIX uname ' "$log.clean" | tail -1 | cut -d' ' -f3 || true)
	# the features the probe found missing, and BPF-LSM when it is there
	feats=$(grep -a '^PBMATRIX features ' "$log.clean" | tail -1 | cut -d' ' -f3- |
		tr ' ' '\n' | awk -F= '$2 == "no" || $2 == "MISSING" { printf "no %s; ", $1 }
			$1 == "BPF-LSM" && $2 == "yes" { printf "BPF-LSM; " }' || true)
	feats=${feats:-everything probed; }
	if [ -z "$done_line" ]; then
		# the guest did not finish: what ctest had reported by then, and
		# the test that was running when the time ran out
		p=$(grep -acE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed ' "$log.clean" || true)
		f=$(grep -acE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*[*]{3}(Failed|Timeout|Exception)' "$log.clean" || true)
		s=$(grep -acE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*[*]{3}Skipped' "$log.clean" || true)
		was_running=$(awk '/^ +Start +[0-9]+: / { t = $3 } / Test +#[0-9]+: / { if ($4 == t) t = "" }
			END { print t }' "$log.clean")
		# a guest whose kernel panicked says so, with the first oops line
		# (or the panic's own reason)
		panic=
		if grep -aq 'Kernel panic - not syncing' "$log.clean"; then
			panic=$(grep -a -m1 -E '(Oops|BUG|int3|general protection fault|invalid opcode): ' "$log.clean" ||
				grep -a -m1 'Kernel panic - not syncing' "$log.clean")
			panic="the guest kernel panicked after ${secs}s ($(sed 's/^\[ *[0-9.]*\] //' <<<"$panic"))"
		fi
		echo "$k|${release:--}|$p|$f|$s|${panic:-guest did not finish in ${secs}s}${was_running:+ (was running $was_running)}; see $log$note|1" >"$row"
		why_failed "$k" "$log"
		echo "  $k: the last lines of its console:" >&2
		tail -15 "$log.clean" | sed "s/^/  $k| /" >&2
		return
	fi
	p=$(sed -n 's/.*passed=\([0-9]*\).*/\1/p' <<<"$done_line")
	f=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$done_line")
	s=$(sed -n 's/.*skipped=\([0-9]*\).*/\1/p' <<<"$done_line")
	local failed=0
	[ "$f" = 0 ] && [ "$p" -gt 0 ] || failed=1
	echo "$k|$release|$p|$f|$s|$feats (${secs}s)$note|$failed" >"$row"
	grep -a '^PBMATRIX test ' "$log.clean" | grep -av ' Passed$' | sed "s/^PBMATRIX test /  $k: /" >&2 || true
	[ "$f" = 0 ] || why_failed "$k" "$log"
}

# why each failed test failed, from its output in the log, so that the
# reason is in this command's output and not only in a file on the host
why_failed() {
	grep -a -E '^(FAIL: |.*[*]{3}(Failed|Timeout|Exception))' "$2.clean" | head -20 |
		sed "s/^/  $1: /" >&2 || true
}

# The rows, JOBS guests at a time, in the order given (the slowest first
# makes the shortest run); each row's report is printed as it ends.
running=0
report() {
	local k=$1
	[ -s "$WORK/say.$k" ] && cat "$WORK/say.$k" >&2
	echo "kmatrix: $k: ended after $(($(date +%s) - T0)) s of this run" >&2
}
declare -A PIDOF=()
for k in "${KERNELS[@]}"; do
	series=${k%+lsm}
	if [ "${MISSING[$series]:-}" = 2 ]; then
		echo "$k|-|-|-|-|SKIP: Debian's archive is unreachable (apt-get update failed)|unreachable" >"$WORK/row.$k"
		continue
	elif [ -n "${MISSING[$series]:-}" ]; then
		echo "$k|-|-|-|-|no such kernel in Debian's archive|1" >"$WORK/row.$k"
		continue
	fi
	while [ "$running" -ge "$JOBS" ]; do
		wait -n -p ended || true
		for r in "${!PIDOF[@]}"; do
			[ "${PIDOF[$r]}" = "$ended" ] && { report "$r"; unset "PIDOF[$r]"; }
		done
		running=$((running - 1))
	done
	echo "kmatrix: $k: booting (log $LOGDIR/$k.log)" >&2
	run_row "$k" &
	PIDOF[$k]=$!
	running=$((running + 1))
done
for r in "${!PIDOF[@]}"; do
	wait "${PIDOF[$r]}" || true
	report "$r"
done

for k in "${KERNELS[@]}"; do
	IFS='|' read -r _ _ _ _ _ _ state <"$WORK/row.$k"
	case $state in
	unreachable) unreachable=1 ;;
	1) bad=1 ;;
	esac
	rows+=("$(cut -d'|' -f1-6 "$WORK/row.$k")")
done

printf '\n%-8s %-22s %6s %6s %7s  %s\n' kernel release passed failed skipped "features (time)"
for r in "${rows[@]}"; do
	IFS='|' read -r k rel p f s rest <<<"$r"
	printf '%-8s %-22s %6s %6s %7s  %s\n' "$k" "$rel" "$p" "$f" "$s" "$rest"
done
echo "kmatrix: ${#KERNELS[@]} rows in $(($(date +%s) - T0)) s, up to $JOBS guests side by side"
[ $bad = 0 ] && [ $unreachable = 1 ] && exit 77
exit $bad
