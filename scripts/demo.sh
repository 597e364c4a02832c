#!/usr/bin/env bash
# The README's demo: what hoist already does end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
HOIST=.venv/bin/hoist
echo "\$ hoist --version"
$HOIST --version
