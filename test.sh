#!/usr/bin/env bash
# Run the test suite, setting up .venv (and tmux, chromium) on first use:  ./test.sh [pytest args]
# ruff and mypy run first (config in pyproject.toml); a finding fails the run before any test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/setup.sh" --test
cd "$root"
"$root/.venv/bin/ruff" check --quiet .
"$root/.venv/bin/mypy"
exec "$root/.venv/bin/python" -m pytest "$@"
