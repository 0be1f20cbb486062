#!/usr/bin/env bash
# Run tuirnn, setting up .venv on first use:  ./tuirnn.sh run [CONFIG] ...
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/setup.sh"
# hints ("continue with: ./tuirnn.sh run --resume RUN") name the command as it was typed
export TUIRNN_PROG="${TUIRNN_PROG:-$0}"
exec "$root/.venv/bin/tuirnn" "$@"
