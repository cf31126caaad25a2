#!/usr/bin/env sh
# System packages beyond Python's: the libraries Qt's X11 platform plugin links to (for
# the window; a fresh Debian 12 lacks libxcb-icccm4, libxcb-keysyms1, libxcb-cursor0…)
# and desktop-file-validate (desktop-file-utils), which the tests run on the desktop
# entry; cmake and g++ to build llama-server from the bindings' source (make
# llama-server); openssl, with which the tests make a certificate for an https server.
# Installs what is missing with the system's package manager (as root, or through
# sudo without a password prompt); the same list is in app/ui/display_check.py.
set -eu
[ "$(uname -s)" = "Linux" ] || exit 0

# soname:debian-package
QT_LIBS="libxcb-icccm.so.4:libxcb-icccm4 libxcb-keysyms.so.1:libxcb-keysyms1
libxcb-cursor.so.0:libxcb-cursor0 libxcb-image.so.0:libxcb-image0
libxcb-render-util.so.0:libxcb-render-util0 libxcb-xkb.so.1:libxcb-xkb1
libxcb-shape.so.0:libxcb-shape0 libxcb-randr.so.0:libxcb-randr0
libxcb-xinerama.so.0:libxcb-xinerama0 libxcb-shm.so.0:libxcb-shm0
libxcb-sync.so.1:libxcb-sync1 libxcb-xfixes.so.0:libxcb-xfixes0
libxcb-render.so.0:libxcb-render0 libxcb-xinput.so.0:libxcb-xinput0 libxcb.so.1:libxcb1
libX11-xcb.so.1:libx11-xcb1 libxkbcommon-x11.so.0:libxkbcommon-x11-0
libxkbcommon.so.0:libxkbcommon0 libEGL.so.1:libegl1 libGL.so.1:libgl1
libOpenGL.so.0:libopengl0 libfontconfig.so.1:libfontconfig1 libdbus-1.so.3:libdbus-1-3"

missing=""
command -v desktop-file-validate >/dev/null 2>&1 || missing="desktop-file-utils"
for tool in cmake:cmake g++:g++ openssl:openssl; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing="$missing ${tool#*:}"
done
if command -v ldconfig >/dev/null 2>&1; then
  known=$(ldconfig -p 2>/dev/null || true)
  for entry in $QT_LIBS; do
    soname=${entry%%:*}
    case "$known" in *"$soname "*) ;; *) missing="$missing ${entry#*:}" ;; esac
  done
fi
[ -n "$missing" ] || exit 0

if [ "$(id -u)" = "0" ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "packaging/system-deps.sh: please install:$missing" >&2
  exit 1
fi
if command -v apt-get >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -q $missing >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q $missing >/dev/null; }
elif command -v dnf >/dev/null 2>&1; then
  $SUDO dnf install -y -q desktop-file-utils xcb-util-wm xcb-util-keysyms xcb-util-cursor \
    xcb-util-image xcb-util-renderutil libxkbcommon-x11 mesa-libEGL
elif command -v pacman >/dev/null 2>&1; then
  $SUDO pacman -S --needed --noconfirm desktop-file-utils xcb-util-wm xcb-util-keysyms \
    xcb-util-cursor xcb-util-image xcb-util-renderutil libxkbcommon-x11
elif command -v zypper >/dev/null 2>&1; then
  $SUDO zypper -q install -y desktop-file-utils libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0
else
  echo "packaging/system-deps.sh: please install with your package manager:$missing" >&2
  exit 1
fi
