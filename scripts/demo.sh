#!/usr/bin/env bash
# The README's demo: what hoist already does end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
HOIST=.venv/bin/hoist
echo "\$ hoist --version"
$HOIST --version

# --- orchestration: a compose project brought up in dependency order, converged, scaled, torn down -------
if [ "$(id -u)" = 0 ]; then
  HOIST_ABS="$PWD/$HOIST"
  DEMO_ROOT=$(mktemp -d /tmp/hoist-demo-XXXXXX)
  export HOIST_ROOT="$DEMO_ROOT/root"
  cleanup() { (cd examples/hello && "$HOIST_ABS" down -v -t 1 >/dev/null 2>&1) || true; rm -rf "$DEMO_ROOT"; }
  trap cleanup EXIT
  BUSYBOX=$(.venv/bin/python -c 'from tests.support.images import ensure_busybox_rootfs; print(ensure_busybox_rootfs())')
  run() { echo; echo "\$ hoist $*"; (cd examples/hello && "$HOIST_ABS" "$@" 2>&1); }
  run image import "$BUSYBOX" busybox:latest
  run --progress plain up -d --wait
  run ps -a
  run logs --no-color
  run exec -T web cat /data/index.html
  run port web 80
  PORT=$(cd examples/hello && "$HOIST_ABS" port web 80 | cut -d: -f2)
  echo; echo "\$ curl http://127.0.0.1:$PORT/"; curl -s "http://127.0.0.1:$PORT/"
  run up -d
  run --progress plain up -d --scale web=3
  run ps --format json web
  run --progress plain down -v
else
  echo "(run as root to see the orchestration demo: containers need namespaces)"
fi
