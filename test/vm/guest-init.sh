#!/bin/busybox sh
# PID 1 of the USB test VM (runs from the busybox initramfs that prepare.sh builds).
# Mounts the host's / read-only over 9p under a tmpfs overlay, the prepared modules at /lib/modules and the
# read-write results share at /run/vm, then runs /run/vm/run.sh inside that root and powers off. QEMU's exit
# code carries nothing: the run writes its results into the share; this init records run.sh's exit status.
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

off() { sync; echo o >/proc/sysrq-trigger; sleep 10; }
die() { echo "usb-vm init: $*"; off; }

while read -r m; do insmod "/early/$m" || die "insmod $m failed"; done </early/order
p9=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$p9,ro" hostroot /host || die "cannot mount the host root (9p tag hostroot)"
mount -t tmpfs -o size=768m tmpfs /upper || die "tmpfs"
mkdir -p /upper/data /upper/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/upper/data,workdir=/upper/work /newroot || die "overlay over the host root failed"
r=/newroot
mkdir -p $r/lib/modules
mount -t 9p -o "$p9,ro" modules $r/lib/modules || die "cannot mount the modules share"
mount -t proc proc $r/proc
mount -t sysfs sys $r/sys
mount -t devtmpfs dev $r/dev
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts devpts $r/dev/pts
mount -t tmpfs tmpfs $r/dev/shm
# /tmp stays the overlay (copy-on-write over the host's): tsx's transpile cache there (/tmp/tsx-0) saves
# the guest, whose CPU is emulated, most of the TypeScript compilation.
mount -t tmpfs tmpfs $r/run
mkdir -p $r/run/vm
mount -t 9p -o "$p9" results $r/run/vm || die "cannot mount the results share"
echo "usb-vm init: root ready, running /run/vm/run.sh"
HOME=/root chroot $r /bin/sh /run/vm/run.sh
echo "$?" >$r/run/vm/run-exit-code
echo "usb-vm init: run.sh finished ($(cat $r/run/vm/run-exit-code)), powering off"
umount $r/run/vm
off
