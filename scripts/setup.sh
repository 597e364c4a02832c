#!/usr/bin/env bash
# One-command, idempotent set-up for a fresh Debian 12 machine (run as root):
# system packages, the .venv with hoist installed editable, and the cached test images.
# A second run checks and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(
  iproute2 iptables nftables conntrack kmod procps psmisc util-linux
  busybox-static debootstrap
  docker-registry apache2-utils
  crun runc
  skopeo zstd
  python3-venv ca-certificates curl
)

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing system packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  # docker-registry's package starts a system service on :5000; tests start their own registries.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q docker-registry 2>/dev/null; then
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
  fi
  pkill -f '^/usr/bin/docker-registry serve /etc/docker/registry/config.yml' 2>/dev/null || true
fi

# The interpreter of .venv: $PYTHON if set; else Debian's own python3 when it is 3.11 or newer; else the
# python3 on PATH. Why Debian's: it is built with PGO and LTO and links libpython into the executable, and
# every hoist process (CLI, run server, launcher, supervisors) is Python: measured here against a plain
# --enable-shared build of 3.11 (pyenv's default, first on PATH on the development VMs), `hoist version`
# took 34 ms instead of 42-46, `hoist container exec` 54 ms instead of 65, `hoist ps` 60 ms instead of 70.
pick_python() {
  if [ -n "${PYTHON:-}" ]; then
    echo "$PYTHON"
  elif /usr/bin/python3 -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo /usr/bin/python3
  else
    echo python3
  fi
}
if [ ! -x .venv/bin/python ]; then
  PY=$(pick_python)
  echo "setup: creating .venv with $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
  "$PY" -m venv .venv
fi

# Reinstall only when the project's metadata changed since the last install.
stamp=.venv/.hoist-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)-compat"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing hoist (editable) with dev extras"
  .venv/bin/python -m pip install -q --upgrade pip
  # compat: a plain .pth path entry. The default editable mode installs an import hook whose own imports
  # cost every hoist process 15-30 ms at start-up (measured), which an installed wheel does not pay.
  # (setuptools calls compat mode transitional: should a future one drop it, the default mode serves.)
  .venv/bin/python -m pip install -q -e '.[dev]' --config-settings editable_mode=compat 2>/dev/null \
    || .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi

# Test images (busybox rootfs, Debian bookworm minbase), cached outside the work tree.
.venv/bin/python scripts/test_images.py
# The root filesystems behind `hoist image base debian|busybox` (debootstrap once per machine, then cached).
if [ "$(id -u)" = 0 ]; then
  .venv/bin/python -c 'from runtime.images.build.bases import cached_rootfs, recipe
for name in ("busybox", "debian"): print("setup: base", name, "at", cached_rootfs(recipe(name), print))'
fi
echo "setup: ready"
