#!/usr/bin/env bash
# Prepares what the USB test VM boots: a Debian kernel with dummy_hcd + FunctionFS, the modules the guest
# needs (decompressed, depmod-indexed) and a busybox initramfs. Everything goes to a cache directory outside
# the repo, so a second run costs nothing. Facts behind the choices: ../shared/usb-vm.md.
#
#   test/vm/prepare.sh            prints the prepared directory (last line of stdout)
#
# Env: UNBRICK_VM_CACHE  cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/unbrick-usb-vm)
#      UNBRICK_VM_KERNEL kernel package (default: the bookworm-backports 6.12 linux-image-amd64 resolves to;
#                        bookworm's 6.1 FunctionFS rejects the DFU functional descriptor, so 6.1 will not do)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${UNBRICK_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/unbrick-usb-vm}"
mkdir -p "$cache/deb"
# One preparer at a time (a test and a bench may start together).
exec 9>"$cache/lock"
flock 9

fail() { echo "usb-vm prepare: $*" >&2; exit 1; }
for tool in dpkg-deb xz depmod modprobe cpio gzip; do
  command -v "$tool" >/dev/null || fail "'$tool' is missing (apt-get install kmod xz-utils cpio dpkg)."
done
busybox=/bin/busybox
[ -x "$busybox" ] || fail "busybox is missing (apt-get install busybox-static)."
{ ldd "$busybox" 2>&1 || true; } | grep -q 'not a dynamic' || fail "$busybox is not static (apt-get install busybox-static)."

# Which kernel package: the explicit one, else what backports' linux-image-amd64 depends on, else a cached .deb.
pkg="${UNBRICK_VM_KERNEL:-}"
if [ -z "$pkg" ]; then
  pkg="$(apt-cache show 'linux-image-amd64' 2>/dev/null | awk '/^Depends: linux-image-6\.12\./ && !found {print $2; found=1}')"
fi
if [ -z "$pkg" ]; then
  cached="$(ls "$cache"/deb/linux-image-6.12.*_amd64.deb 2>/dev/null | sort -V | tail -1 || true)"
  [ -n "$cached" ] || fail "no 6.12 kernel package known to apt: add 'deb http://deb.debian.org/debian bookworm-backports main' to /etc/apt/sources.list.d/ and run apt-get update (see .ci/run)."
  pkg="$(basename "$cached" | cut -d_ -f1)"
fi
deb="$(ls "$cache"/deb/"$pkg"_*_amd64.deb 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$deb" ]; then
  echo "usb-vm prepare: downloading $pkg" >&2
  if (cd "$cache/deb" && apt-get download -q "$pkg" >&2); then
    deb="$(ls "$cache"/deb/"$pkg"_*_amd64.deb | sort -V | tail -1)"
  else
    # Offline with an older 6.12 kernel already cached: use that one rather than fail.
    deb="$(ls "$cache"/deb/linux-image-6.12.*_amd64.deb 2>/dev/null | sort -V | tail -1 || true)"
    [ -n "$deb" ] || fail "apt-get download $pkg failed (network or apt sources?)."
    pkg="$(basename "$deb" | cut -d_ -f1)"
    echo "usb-vm prepare: download failed; using the cached $pkg" >&2
  fi
fi
ver="${pkg#linux-image-}"

# The output depends on the kernel and on this script + the guest init: key the directory by both.
key="$(cat "$0" "$here/guest-init.sh" | sha256sum | cut -c1-12)"
out="$cache/$ver-$key"
if [ -f "$out/ready" ]; then echo "$out"; exit 0; fi
rm -rf "$out.tmp"; mkdir -p "$out.tmp"
tmp="$out.tmp"

echo "usb-vm prepare: extracting $ver from $(basename "$deb")" >&2
moddir="lib/modules/$ver"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards \
  "./boot/vmlinuz-$ver" \
  "./$moddir/modules.builtin" "./$moddir/modules.builtin.modinfo" "./$moddir/modules.order" \
  "./$moddir/kernel/drivers/usb/common/*" "./$moddir/kernel/drivers/usb/core/*" \
  "./$moddir/kernel/drivers/usb/gadget/*" "./$moddir/kernel/drivers/usb/roles/*" \
  "./$moddir/kernel/fs/9p/*" "./$moddir/kernel/net/9p/*" "./$moddir/kernel/fs/netfs/*" \
  "./$moddir/kernel/fs/overlayfs/*" "./$moddir/kernel/fs/configfs/*"
# busybox insmod cannot read .ko.xz: decompress, then index.
find "$tmp/$moddir" -name '*.ko.xz' -exec xz -d {} +
depmod -b "$tmp" "$ver"
mv "$tmp/boot/vmlinuz-$ver" "$tmp/vmlinuz" && rmdir "$tmp/boot"

# The modules share is $out/lib/modules (mounted at /lib/modules in the guest).
# initramfs: static busybox, the modules needed to reach the host's root (9p + overlay), and the init.
ir="$tmp/initramfs"
mkdir -p "$ir/bin" "$ir/early" "$ir/proc" "$ir/sys" "$ir/dev" "$ir/newroot" "$ir/host" "$ir/upper"
cp "$busybox" "$ir/bin/busybox"
cp "$here/guest-init.sh" "$ir/init" && chmod 755 "$ir/init"
: >"$ir/early/order"
for m in $(modprobe -d "$tmp" -S "$ver" --show-depends -a 9p 9pnet_virtio overlay | awk '$1=="insmod"{print $2}'); do
  name="$(basename "$m")"
  grep -qx "$name" "$ir/early/order" && continue
  cp "$m" "$ir/early/$name"
  echo "$name" >>"$ir/early/order"
done
[ -s "$ir/early/order" ] || fail "could not resolve the 9p/overlay modules for $ver."
(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$tmp/initramfs.cpio.gz"
rm -rf "$ir"
echo "$ver" >"$tmp/kernel-version"
touch "$tmp/ready"
rm -rf "$out"; mv "$tmp" "$out"
# Drop directories left by older kernels or older versions of this script.
for old in "$cache"/*/; do
  old="${old%/}"
  [ "$old" != "$out" ] && [ -f "$old/ready" -o -d "$old/initramfs" ] && rm -rf "$old"
done
echo "usb-vm prepare: ready in $out ($(du -sh "$out" | cut -f1))" >&2
echo "$out"
