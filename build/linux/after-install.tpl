#!/bin/bash
# Unbrick's deb postinst (electron-builder deb.afterInstall: it fills in executable and sanitizedProductName).
# Does what electron-builder's own script does for the app (command link, chrome-sandbox mode, desktop
# database), and installs the udev rules that give the logged-in user USB access to STM32 DFU bootloaders
# and ST-LINK probes (the output of `unbrick udev-rules`, shipped in resources/linux/).
# DPKG_ROOT (set by `dpkg --root`, and by the tests) prefixes every path; with it set, the steps that act on
# the running system (udev reload, desktop database) are left out.
set -e
root="$DPKG_ROOT"
app='/opt/${sanitizedProductName}'

mkdir -p "$root/usr/bin"
ln -sfn "$app/${executable}" "$root/usr/bin/${executable}"

# Electron's sandbox: SUID chrome-sandbox only where unprivileged user namespaces do not work.
if [ -e "$root$app/chrome-sandbox" ]; then
  if [ -L /proc/self/ns/user ] && unshare --user true 2>/dev/null; then
    chmod 0755 "$root$app/chrome-sandbox" || true
  else
    chmod 4755 "$root$app/chrome-sandbox" || true
  fi
fi

install -D -m 0644 "$root$app/resources/linux/60-unbrick.rules" "$root/usr/lib/udev/rules.d/60-unbrick.rules"

if [ -z "$root" ]; then
  if command -v udevadm >/dev/null 2>&1; then
    udevadm control --reload-rules || true
    udevadm trigger --subsystem-match=usb --action=change || true
  fi
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database /usr/share/applications || true
  fi
fi
exit 0
