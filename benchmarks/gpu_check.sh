#!/usr/bin/env bash
# One prepared GPU check, within 5 minutes: prints the ms/step table of a bare fused-cuDNN
# loop, the same with fused Adam, tuirnn headless and tuirnn's monitor in a pseudo-terminal
# (3x512 LSTM, batch 100, seq 100, War and Peace). Without a GPU it says so and runs the same
# rows at tiny sizes on the CPU.
#     benchmarks/gpu_check.sh [--steps N] [--data PATH]
# Uses .venv when there is one, else python3 with the project on PYTHONPATH (torch, textual,
# rich and pyyaml installed).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$root/.venv/bin/python"
[ -x "$py" ] || py="$(command -v python3)"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.used,memory.total,utilization.gpu --format=csv,noheader
else
  echo "no GPU (no working nvidia-smi): tiny sizes on the CPU, to show the check runs"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
# 290 s: the whole check fits a 5-minute slot with time to print
exec timeout 290 "$py" "$root/benchmarks/gpu_check.py" "$@"
