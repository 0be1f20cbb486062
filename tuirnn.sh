#!/usr/bin/env bash
# Run tuirnn, setting up .venv on first use:  ./tuirnn.sh run [CONFIG] ...
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/setup.sh"
exec "$root/.venv/bin/tuirnn" "$@"
