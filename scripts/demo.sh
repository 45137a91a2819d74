#!/bin/bash
# `make demo`: boot the test guest and run tests/vm/demo.sh in it.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/scripts/deps.sh" >/dev/null || exit 1
exec "$ROOT/scripts/vm/run.sh" --timeout 600 --log "$ROOT/build/vm/demo-console.log" \
	"$ROOT/tests/vm/demo.sh"
