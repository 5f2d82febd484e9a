#!/usr/bin/env bash
# Runs the benchmark harness; all arguments are passed to run.py.
#   benchmarks/run.sh --duration 10 --connections 64 --rounds 3
#   benchmarks/run.sh --only nginx-return-200,apiway-mock --write-doc docs/performance.md
#   benchmarks/run.sh --only apiway-mock --baseline /tmp/apiway-base/.venv/bin/apiway  # against an older checkout
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
py="${PYTHON:-}"
if [ -z "$py" ]; then
    if [ -x "$root/.venv/bin/python" ]; then py="$root/.venv/bin/python"; else py="python3"; fi
fi
exec "$py" "$here/run.py" "$@"
