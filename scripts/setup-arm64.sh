#!/usr/bin/env bash
# Install what the emulated arm64 profiles (rpi4, rpi5, arm64-server) run on, into the project's cache
# ($ST_COMPRESS_HOME/runtimes/arm64, default ~/.cache/st-compress/runtimes/arm64), all from the package registries:
#   - qemu-user from Debian (the statically linked qemu-aarch64 of qemu >= 9; Debian 12's own 7.2 crashes loading
#     onnxruntime >= 1.28, so on Debian 12 it is taken from bookworm-backports);
#   - an aarch64 Python from Debian's arm64 packages (unpacked, not installed: the host's dpkg is left as it is);
#   - aarch64 wheels of onnxruntime, tokenizers and numpy from PyPI, the same versions as in .venv.
# Run it after scripts/setup.sh. Re-running replaces the runtime; a failed run leaves the old one in place.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "run scripts/setup.sh first (.venv is missing)" >&2; exit 2; }
CACHE="${ST_COMPRESS_HOME:-$HOME/.cache/st-compress}/runtimes"
DEST="$CACHE/arm64"
mkdir -p "$CACHE"
TMP="$(mktemp -d "$CACHE/.arm64-XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
. /etc/os-release
CODENAME="${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}"

apt_private() {  # apt-get with its own lists and cache, for one architecture and one sources line
  local arch="$1" sources="$2"; shift 2
  local state="$TMP/apt-$arch"
  mkdir -p "$state/lists/partial" "$state/archives/partial"
  touch "$state/status"
  printf '%s\n' "$sources" > "$state/sources.list"
  apt-get -q -o APT::Architecture="$arch" -o APT::Architectures::="$arch" \
    -o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts=/nonexistent \
    -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state" -o Dir::State::status="$state/status" \
    -o APT::Sandbox::User=root "$@"
}

echo "qemu-user (static qemu-aarch64)" >&2
mkdir -p "$TMP/bin" "$TMP/qemu"
QEMU_SOURCE="deb http://deb.debian.org/debian $CODENAME main"
[ "$CODENAME" = bookworm ] && QEMU_SOURCE="deb http://deb.debian.org/debian bookworm-backports main"
apt_private amd64 "$QEMU_SOURCE" update >/dev/null
(cd "$TMP/qemu" && apt_private amd64 "$QEMU_SOURCE" download qemu-user >/dev/null)
dpkg-deb -x "$TMP"/qemu/qemu-user_*.deb "$TMP/qemu/x"
cp "$TMP/qemu/x/usr/bin/qemu-aarch64" "$TMP/bin/qemu-aarch64"
rm -rf "$TMP/qemu"

PYVER="$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
echo "aarch64 Python $PYVER from Debian's arm64 packages" >&2
SOURCES="deb http://deb.debian.org/debian $CODENAME main
deb http://deb.debian.org/debian-security $CODENAME-security main"
apt_private arm64 "$SOURCES" update >/dev/null
mkdir -p "$TMP/debs" "$TMP/root"
(cd "$TMP/debs" && apt_private arm64 "$SOURCES" download "python$PYVER-minimal" "libpython$PYVER-minimal" \
  "libpython$PYVER-stdlib" libc6 libgcc-s1 libstdc++6 zlib1g libexpat1 libffi8 libssl3 libbz2-1.0 liblzma5 \
  libuuid1 libcrypt1 media-types >/dev/null)
for deb in "$TMP"/debs/*.deb; do dpkg-deb -x "$deb" "$TMP/root"; done
rm -rf "$TMP/debs" "$TMP"/apt-*

echo "aarch64 wheels: onnxruntime, tokenizers, numpy (the versions in .venv)" >&2
PINS="$("$PY" -c 'from importlib.metadata import version as v; print(" ".join(f"{p}=={v(p)}" for p in ("onnxruntime", "tokenizers", "numpy")))')"
ABI="cp${PYVER/./}"
# shellcheck disable=SC2086
"$PY" -m pip install -q --no-deps --only-binary=:all: --target "$TMP/site" --python-version "$PYVER" \
  --implementation cp --abi "$ABI" --abi abi3 --platform manylinux_2_28_aarch64 --platform manylinux_2_27_aarch64 \
  --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 $PINS

echo "checking: onnxruntime imports under emulation" >&2
"$TMP/bin/qemu-aarch64" -L "$TMP/root" -cpu cortex-a72 "$TMP/root/usr/bin/python$PYVER" -c \
  "import sys; sys.path.insert(0, '$TMP/site'); import numpy, tokenizers, onnxruntime; print(onnxruntime.__version__)" >/dev/null
"$PY" - "$TMP" "$PYVER" "$PINS" <<'PYEOF'
import json, subprocess, sys
tmp, pyver, pins = sys.argv[1:]
qemu = subprocess.run([f"{tmp}/bin/qemu-aarch64", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
info = {"qemu": qemu, "python": f"python{pyver}", "packages": pins.split()}
open(f"{tmp}/runtime.json", "w").write(json.dumps(info, indent=2))
PYEOF
rm -rf "$DEST.old"
[ -e "$DEST" ] && mv "$DEST" "$DEST.old"
mv "$TMP" "$DEST"
rm -rf "$DEST.old"
trap - EXIT
echo "arm64 runtime ready in $DEST" >&2
