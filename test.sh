#!/usr/bin/env bash
# Run the test suite, setting up .venv (and tmux) on first use:  ./test.sh [pytest args]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/setup.sh" --test
cd "$root"
exec "$root/.venv/bin/python" -m pytest "$@"
