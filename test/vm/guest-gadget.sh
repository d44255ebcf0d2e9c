#!/bin/sh
# Inside the test VM: bring up the simulated DfuSe device (0483:df11) as a real USB gadget on dummy_hcd,
# then run the command given as arguments with the device on the bus; its exit status is ours.
#   sh test/vm/guest-gadget.sh OUTDIR CMD [ARGS...]
# Order matters (../shared/usb-vm.md): modules, configfs gadget with an ffs function, mount FunctionFS,
# start the device program (writes descriptors to ep0), only then bind dummy_udc.0.
set -u
out="$1"; shift
# The simulated device; guest-suite.ts (device-config.ts) reads its expectations from the same variables.
export UNBRICK_VM_CHIP="${UNBRICK_VM_CHIP:-f405}"
export UNBRICK_VM_SERIAL="${UNBRICK_VM_SERIAL:-205F38743034}"
log() { echo "gadget: $*"; }
fail() { echo "gadget: $*" >&2; echo "$*" >"$out/gadget-error"; exit 80; }

modprobe -a dummy_hcd libcomposite usb_f_fs || fail "modprobe dummy_hcd libcomposite usb_f_fs failed"
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || fail "cannot mount configfs"
g=/sys/kernel/config/usb_gadget/dfu
# The suite unplugs the device by unbinding this (disconnect mid-transfer).
export UNBRICK_VM_UDC_FILE="$g/UDC"
mkdir -p "$g" || fail "cannot create the gadget in configfs"
echo 0x0483 >"$g/idVendor"
echo 0xdf11 >"$g/idProduct"
echo 0x2200 >"$g/bcdDevice"
echo 0x0200 >"$g/bcdUSB"
mkdir -p "$g/strings/0x409"
echo "STMicroelectronics" >"$g/strings/0x409/manufacturer"
echo "$UNBRICK_VM_SERIAL" >"$g/strings/0x409/serialnumber"
echo "DFU in FS Mode" >"$g/strings/0x409/product"
mkdir -p "$g/configs/c.1/strings/0x409"
echo "DFU" >"$g/configs/c.1/strings/0x409/configuration"
echo 100 >"$g/configs/c.1/MaxPower"
mkdir -p "$g/functions/ffs.dfu" || fail "cannot create the FunctionFS function (usb_f_fs missing?)"
ln -s "$g/functions/ffs.dfu" "$g/configs/c.1/" 2>/dev/null
mkdir -p /run/ffs/dfu
mount -t functionfs dfu /run/ffs/dfu || fail "cannot mount functionfs"

# `unbrick sim dfuse` (via test/vm/sim-dfuse.ts) writes the descriptors to ep0, then prints "ready"; only then may the UDC be bound.
node --import tsx test/vm/sim-dfuse.ts --functionfs /run/ffs/dfu --chip "$UNBRICK_VM_CHIP" --serial "$UNBRICK_VM_SERIAL" \
  --udc "$g/UDC" --time-scale "${UNBRICK_VM_TIME_SCALE:-1}" ${UNBRICK_VM_DEVICE_TRACE:+--trace} \
  >"$out/device.out" 2>"$out/device.log" &
dev=$!
t0=$(date +%s)
until grep -qs '^ready' "$out/device.out"; do
  kill -0 $dev 2>/dev/null || fail "unbrick sim dfuse exited before it was ready: $(tail -5 "$out/device.log")"
  [ $(($(date +%s) - t0)) -gt 240 ] && fail "unbrick sim dfuse did not get ready within 240 s"
  sleep 0.2
done
log "device program ready after $(($(date +%s) - t0)) s"
echo dummy_udc.0 >"$g/UDC" || fail "cannot bind dummy_udc.0"
t0=$(date +%s)
until grep -qs df11 /sys/bus/usb/devices/*/idProduct; do
  [ $(($(date +%s) - t0)) -gt 30 ] && fail "0483:df11 did not enumerate within 30 s"
  sleep 0.2
done
log "0483:df11 enumerated"

"$@"
rc=$?
kill $dev 2>/dev/null
i=0
while kill -0 $dev 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
kill -9 $dev 2>/dev/null
exit $rc
