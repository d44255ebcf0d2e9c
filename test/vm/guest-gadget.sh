#!/bin/sh
# Inside the test VM: bring up the simulated DfuSe device (0483:df11) as a real USB gadget on dummy_hcd,
# then run the command given as arguments with the device on the bus; its exit status is ours.
#   sh test/vm/guest-gadget.sh OUTDIR CMD [ARGS...]
# Order matters (../shared/usb-vm.md): modules, configfs gadget with an ffs function, mount FunctionFS,
# start the device program (writes descriptors to ep0), only then bind dummy_udc.0.
set -u
out="$1"; shift
repo="$(pwd)"
log() { echo "gadget: $*"; }
fail() { echo "gadget: $*" >&2; echo "$*" >"$out/gadget-error"; exit 80; }

modprobe -a dummy_hcd libcomposite usb_f_fs || fail "modprobe dummy_hcd libcomposite usb_f_fs failed"
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || fail "cannot mount configfs"
g=/sys/kernel/config/usb_gadget/dfu
mkdir -p "$g" || fail "cannot create the gadget in configfs"
echo 0x0483 >"$g/idVendor"
echo 0xdf11 >"$g/idProduct"
echo 0x2200 >"$g/bcdDevice"
echo 0x0200 >"$g/bcdUSB"
mkdir -p "$g/strings/0x409"
echo "STMicroelectronics" >"$g/strings/0x409/manufacturer"
echo "DFU in FS Mode" >"$g/strings/0x409/product"
mkdir -p "$g/configs/c.1/strings/0x409"
echo "DFU" >"$g/configs/c.1/strings/0x409/configuration"
echo 100 >"$g/configs/c.1/MaxPower"
mkdir -p "$g/functions/ffs.dfu" || fail "cannot create the FunctionFS function (usb_f_fs missing?)"
ln -s "$g/functions/ffs.dfu" "$g/configs/c.1/" 2>/dev/null
mkdir -p /run/ffs/dfu
mount -t functionfs dfu /run/ffs/dfu || fail "cannot mount functionfs"

rm -f /run/ffs/ready
node --import tsx "$repo/test/vm/device.ts" --functionfs /run/ffs/dfu --udc "$g/UDC" --ready /run/ffs/ready \
  --time-scale "${UNBRICK_VM_TIME_SCALE:-1}" ${UNBRICK_VM_DEVICE_VERBOSE:+--verbose} ${UNBRICK_VM_DEVICE_TRACE:+--trace} >"$out/device.log" 2>&1 &
dev=$!
i=0
while [ ! -f /run/ffs/ready ]; do
  kill -0 $dev 2>/dev/null || fail "the device program exited before it was ready: $(tail -5 "$out/device.log")"
  i=$((i + 1)); [ $i -gt 1200 ] && fail "the device program did not get ready within 120 s"
  sleep 0.1
done
log "device program ready after $((i / 10)) s"
head -1 /run/ffs/ready >"$g/strings/0x409/serialnumber"
echo dummy_udc.0 >"$g/UDC" || fail "cannot bind dummy_udc.0"
i=0
until grep -qs df11 /sys/bus/usb/devices/*/idProduct; do
  i=$((i + 1)); [ $i -gt 100 ] && fail "0483:df11 did not enumerate within 10 s"
  sleep 0.1
done
log "0483:df11 enumerated"

"$@"
rc=$?
kill $dev 2>/dev/null
i=0
while kill -0 $dev 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
kill -9 $dev 2>/dev/null
exit $rc
