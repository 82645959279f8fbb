#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# /init of a kernel-matrix guest (busybox): load virtio, 9p and overlay from
# the kernel's own package, mount the host's root read-only over 9p with a
# tmpfs overlay, and switch_root into tools/kmatrix_guest.sh.
export PATH=/bin
die() {
	echo "PBMATRIX error $*"
	poweroff -f
}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do
	insmod "/mod/$m" 2>/dev/null || echo "kmatrix init: insmod $m failed (built in?)"
done </mod/order
for w in 1 2 3 4 5; do # the virtio device may take a moment
	mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower && break
	sleep 1
done
[ -d /lower/bin ] || die "cannot mount the host's root over 9p"
mount -t tmpfs -o mode=0755 tmpfs /rw || die "tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
	die "cannot put an overlay on the host's root"
SRC=
for a in $(cat /proc/cmdline); do
	case $a in pb.src=*) SRC=${a#pb.src=} ;; esac
done
[ -x "/newroot$SRC/tools/kmatrix_guest.sh" ] || die "no $SRC/tools/kmatrix_guest.sh on the host's root"
umount /proc /sys
umount /dev
exec switch_root /newroot /bin/bash "$SRC/tools/kmatrix_guest.sh"
