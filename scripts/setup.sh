#!/usr/bin/env bash
# Make .venv with tuirnn and its dependencies, once; later calls return at once.
# CPU machines get the CPU build of PyTorch (torch==2.13.0); a machine with an NVIDIA driver
# gets PyPI's default CUDA build. TUIRNN_TORCH overrides the torch requirement.
# With --test, also the test tools (pytest, cairosvg) and tmux for the end-to-end tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

py="${PYTHON:-}"
if [ -z "$py" ]; then
  for candidate in python3.11 python3.12 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then py="$candidate"; break; fi
  done
fi
[ -n "$py" ] || { echo "setup: no python3 found; install Python 3.10 or newer" >&2; exit 2; }

stamp_key="$(cat "$root/pyproject.toml" "$root/scripts/setup.sh" | sha256sum | cut -c1-16)-$want_test"
stamp="$venv/.tuirnn-setup-$stamp_key"
if [ -f "$stamp" ] && { [ $want_test = 0 ] || command -v tmux >/dev/null; }; then exit 0; fi

echo "setup: preparing $venv (first use only) ..." >&2
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip() { "$venv/bin/python" -m pip --disable-pip-version-check -q "$@"; }

if ! "$venv/bin/python" -c "import torch" >/dev/null 2>&1; then
  if [ -n "${TUIRNN_TORCH:-}" ]; then
    torch_req="$TUIRNN_TORCH"
  elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    torch_req="torch>=2.4"          # PyPI's Linux wheels carry CUDA
  else
    torch_req="torch==2.13.0"       # CPU machines
  fi
  echo "setup: installing $torch_req" >&2
  pip install "$torch_req"
fi
if [ $want_test = 1 ]; then
  pip install -e "$root[test]"
  if ! command -v tmux >/dev/null 2>&1; then
    echo "setup: installing tmux (for the end-to-end tests)" >&2
    sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    { $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq tmux >/dev/null; } \
      || echo "setup: could not install tmux; the tmux tests will be skipped" >&2
  fi
else
  pip install -e "$root"
fi
rm -f "$venv"/.tuirnn-setup-*
touch "$stamp"
echo "setup: done" >&2
