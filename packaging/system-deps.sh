#!/usr/bin/env sh
# System tools the test suite uses beyond Python packages: desktop-file-validate
# (desktop-file-utils) checks the Linux desktop entry. Installs it when missing, with the
# system's package manager (as root, or through sudo without a password prompt).
set -eu
command -v desktop-file-validate >/dev/null 2>&1 && exit 0
[ "$(uname -s)" = "Linux" ] || exit 0
if [ "$(id -u)" = "0" ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "packaging/system-deps.sh: install desktop-file-utils (it provides desktop-file-validate)" >&2
  exit 1
fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get install -y -q desktop-file-utils >/dev/null || {
    $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q desktop-file-utils >/dev/null; }
elif command -v dnf >/dev/null 2>&1; then $SUDO dnf install -y -q desktop-file-utils
elif command -v pacman >/dev/null 2>&1; then $SUDO pacman -S --noconfirm desktop-file-utils
elif command -v zypper >/dev/null 2>&1; then $SUDO zypper -q install -y desktop-file-utils
else
  echo "packaging/system-deps.sh: install desktop-file-utils with your package manager" >&2
  exit 1
fi
