#!/bin/bash
# Unbrick's deb postrm (electron-builder deb.afterRemove): takes away what after-install.tpl put in place.
# dpkg removes the packaged files itself (the app under /opt, the desktop entry, the icons). On upgrade the
# new version's postinst puts everything back, so only remove and purge act. DPKG_ROOT as in after-install.tpl.
set -e
root="$DPKG_ROOT"
app='/opt/${sanitizedProductName}'

case "$1" in
  remove | purge) ;;
  *) exit 0 ;;
esac

if [ "$(readlink "$root/usr/bin/${executable}" 2>/dev/null)" = "$app/${executable}" ]; then
  rm -f "$root/usr/bin/${executable}"
fi
rm -f "$root/usr/lib/udev/rules.d/60-unbrick.rules"

if [ -z "$root" ]; then
  if command -v udevadm >/dev/null 2>&1; then
    udevadm control --reload-rules || true
  fi
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database /usr/share/applications || true
  fi
fi
exit 0
