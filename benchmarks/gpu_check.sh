#!/usr/bin/env bash
# One prepared check of the ladder's GPU path, at most 8 minutes (docs/methods/ladder.md, "GPU"):
#   bf16 matmul TFLOP/s (8192^2); every size of config/ladder-large.yaml trained for a few
#   hundred steps (tokens/s, MFU against the card's bf16 peak and the measured matmul, peak
#   memory, minutes per run); torch.compile against eager; a training run SIGKILLed after
#   its first checkpoint and resumed (same loss as uninterrupted); 200 steps in bf16 against
#   float32 (same loss within seed noise); generation on the device from the exported model.
#
#   benchmarks/gpu_check.sh                     # on a GPU machine: writes gpu_check/gpu_check.json
#   benchmarks/gpu_check.sh --device cpu        # dry check on a CPU: tiny sizes, few steps
# Options: --device DEV (cuda), --out DIR (gpu_check), --steps N (200), --limit SECONDS (480).
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=cuda OUT=gpu_check STEPS=200 LIMIT=480
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --limit) LIMIT=$2; shift 2 ;;
    *) echo "gpu_check.sh: unknown option $1 (--device, --out, --steps, --limit)" >&2; exit 2 ;;
  esac
done
PY=${PYTHON:-.venv/bin/python}
EXTRA=()
if [ "$DEVICE" = cpu ]; then
  EXTRA=(--small)                 # a dry check of the script, not a measurement
  [ "$STEPS" = 200 ] && STEPS=20
fi
mkdir -p "$OUT"
echo "gpu_check: device $DEVICE, $STEPS steps, limit ${LIMIT}s, results in $OUT/gpu_check.json"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'gpus', torch.cuda.device_count())"
[ "$DEVICE" != cpu ] && command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
# one process for every check, so the whole script stays inside one time limit
rc=0
timeout --signal=KILL "$LIMIT" "$PY" benchmarks/ladder_gpu.py all --device "$DEVICE" --steps "$STEPS" \
  --out "$OUT" "${EXTRA[@]}" || rc=$?
[ "$rc" = 137 ] && echo "gpu_check: stopped at the ${LIMIT}s limit; what finished is in $OUT/gpu_check.json" >&2
"$PY" - "$OUT/gpu_check.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
if not r.get("resume", {}).get("same_loss"):
    bad.append("a killed and resumed run did not reach the uninterrupted run's loss")
if not r.get("dtype_check", {}).get("within_noise"):
    bad.append("bf16 and float32 training losses differ by more than the seed noise")
if not r.get("generate", {}).get("new_tokens"):
    bad.append("the exported model generated nothing")
missing = [k for k in ("matmul", "sizes", "compile", "resume", "dtype_check", "generate") if k not in r]
if missing:
    bad.append("not reached: " + ", ".join(missing))
print("gpu_check:", "all checks passed" if not bad else "FAILED: " + "; ".join(bad), "on", r["device"],
      "| seconds per check:", r.get("seconds"))
sys.exit(1 if bad else 0)
PYEOF
exit "$rc"
