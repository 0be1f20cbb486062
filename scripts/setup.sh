#!/usr/bin/env bash
# Make .venv with tuirnn and its dependencies, once; later calls return at once.
#
# PyTorch that fits the machine:
#   - an NVIDIA GPU (nvidia-smi lists one): the default index's build, which carries CUDA;
#   - otherwise the CPU build from PyTorch's CPU index when it answers (a few seconds' probe),
#     else the default index's torch==2.13.0, with one line saying it may be the CUDA build.
# TUIRNN_TORCH overrides the torch requirement; TUIRNN_TORCH_CPU_INDEX the CPU index's address.
# With --test, also the test tools (pytest, cairosvg, playwright), tmux for the end-to-end tests
# and Debian's chromium for the browser test of `serve` (Playwright drives it through its
# executable_path: Playwright's own browser download is never used).
# One stamp in .venv covers both uses: ./tuirnn.sh after ./test.sh does nothing, and ./test.sh
# after ./tuirnn.sh only adds the test tools.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
want="base"
[ "${1:-}" = "--test" ] && want="test"

# The stamp's name changes with pyproject.toml and this script; it holds "base" or "test".
stamp="$venv/.tuirnn-setup-$(cat "$root/pyproject.toml" "$root/scripts/setup.sh" | sha256sum | cut -c1-16)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [ "$have" = "test" ] || [ "$have" = "$want" ]; then exit 0; fi

py="${PYTHON:-}"
if [ -z "$py" ]; then
  for candidate in python3.11 python3.12 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then py="$candidate"; break; fi
  done
fi
[ -n "$py" ] || { echo "setup: no python3 found; install Python 3.10 or newer" >&2; exit 2; }

say() { echo "setup: $*" >&2; }
pip_quiet() { "$venv/bin/python" -m pip --disable-pip-version-check -q "$@"; }
pip_shown() { "$venv/bin/python" -m pip --disable-pip-version-check "$@"; }  # big downloads: progress

# Does `url` answer within a few seconds? (DNS included: `timeout` bounds the whole try.)
answers() {
  local bound=""
  command -v timeout >/dev/null 2>&1 && bound="timeout 6"
  $bound "$py" - "$1" >/dev/null 2>&1 <<'PY'
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=4).close()
PY
}

install_torch() {
  local cpu_index="${TUIRNN_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
  if [ -n "${TUIRNN_TORCH:-}" ]; then
    say "installing $TUIRNN_TORCH (from TUIRNN_TORCH)"
    pip_shown install "$TUIRNN_TORCH"
  elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    say "NVIDIA GPU found: installing PyTorch with CUDA (torch>=2.4)"
    pip_shown install "torch>=2.4"
  elif answers "${cpu_index%/}/torch/" \
      && say "no NVIDIA GPU: installing PyTorch's CPU build (torch==2.13.0) from $cpu_index" \
      && pip_shown install "torch==2.13.0" --index-url "$cpu_index"; then
    :
  else
    say "no NVIDIA GPU, and PyTorch's CPU index ($cpu_index) cannot be used from here:" \
        "installing torch==2.13.0 from the default index (it may be the larger CUDA build)"
    pip_shown install "torch==2.13.0"
  fi
}

say "preparing $venv ($want; first use only) ..."
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -c "import torch" >/dev/null 2>&1 || install_torch
if [ "$want" = "test" ]; then
  pip_quiet install -e "$root[test]"
  apt_install() {     # $1: the command it provides, $2: the Debian package, $3: what it is for
    command -v "$1" >/dev/null 2>&1 && return 0
    say "installing $2 ($3)"
    local sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    { $sudo_cmd apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$2" >/dev/null; } \
      || say "could not install $2; the tests that need it will be skipped"
  }
  apt_install tmux tmux "for the end-to-end tests"
  apt_install chromium chromium "for the browser test of tuirnn serve"
else
  pip_quiet install -e "$root"
fi
rm -f "$venv"/.tuirnn-setup-*
echo "$want" > "$stamp"
say "done"
