#!/usr/bin/env bash
# The README's `make demo`: build and start examples/quickstart (a Python web app counting visits in Redis)
# and show it serving through its published port. Idempotent: a second run rebuilds nothing and recreates
# nothing. The stack stays up; `hoist down` in examples/quickstart stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
HOIST="$REPO/.venv/bin/hoist"
EXAMPLE="$REPO/examples/quickstart"

fail() {
  echo >&2
  echo "demo failed: $1" >&2
  [ $# -gt 1 ] && echo "  how to fix: $2" >&2
  exit 1
}
step() { echo; echo "\$ $*"; }

[ "$(id -u)" = 0 ] || fail "hoist needs root to create containers (namespaces, mounts, cgroups, veths)" \
  "run it as root: sudo make demo"
[ -x "$HOIST" ] || fail "$HOIST is missing" "run make setup first (make demo does it for you)"
command -v curl >/dev/null || fail "curl is not installed" "apt-get install -y curl"

step hoist --version
"$HOIST" --version

# The examples build FROM debian:bookworm-slim, made on this machine: no registry is needed.
if "$HOIST" image inspect debian:bookworm-slim >/dev/null 2>&1; then
  echo; echo "debian:bookworm-slim is already in the image store"
else
  step hoist image base debian
  "$HOIST" --progress plain image base debian \
    || fail "could not make the debian:bookworm-slim base image" \
            "check that debootstrap is installed and the Debian mirror in /etc/apt/sources.list* is reachable"
fi

# hoist publishes ports with DNAT rules, not listening sockets: a listener here is another program.
WANTED_PORT=${WEB_PORT:-8080}
if command -v ss >/dev/null && [ -n "$(ss -Hltn "sport = :$WANTED_PORT")" ]; then
  fail "port $WANTED_PORT is already used by another program on this machine" \
       "publish the demo on a free port instead, e.g. WEB_PORT=8090 make demo"
fi

cd "$EXAMPLE"
step "cd examples/quickstart && hoist up -d --build --wait"
"$HOIST" --progress plain up -d --build --wait \
  || fail "the quickstart stack did not come up healthy" \
          "look at 'hoist ps -a' and 'hoist logs' in examples/quickstart"

step hoist ps
"$HOIST" ps

ADDRESS=$("$HOIST" port web 8000) || fail "the web service has no published port" "look at 'hoist ps' in examples/quickstart"
PORT=${ADDRESS##*:}
URL="http://127.0.0.1:$PORT/"
step curl "$URL"
BODY=""
# A bounded poll: the service is healthy already, but give a loaded machine a few seconds.
for _ in $(seq 1 50); do
  if BODY=$(curl -fsS --max-time 2 "$URL" 2>/dev/null); then break; fi
  sleep 0.2
done
[ -n "$BODY" ] || fail "nothing answered on $URL" "look at 'hoist logs web' in examples/quickstart"
echo "$BODY"

echo
echo "The quickstart is running. Open $URL (each visit is counted in Redis)."
echo "Stop it with: cd examples/quickstart && $HOIST down"
