#!/usr/bin/env bash
# The GPU check: install from this checkout, run the GPU-relevant tests, measure the training step
# at 256² (float32 vs mixed_float16, then mixed_float16 with XLA; batch 8 and 32; both presets),
# the input pipeline against it and Keras/SavedModel/TFLite inference; write one report.
#
#   bash scripts/gpu_check.sh                       # on a machine with an NVIDIA GPU (< 8 min)
#   GPU_CHECK_PYTHON=python3 bash scripts/gpu_check.sh   # an interpreter already set up
#   bash scripts/gpu_check.sh --dry-run             # the stages on CPU: tiny, 64², 1 step (no res)
#   bash scripts/gpu_check.sh --report-only DIR     # rewrite DIR/gpu.md from DIR's stage files
#
# Every stage runs under `timeout` inside one overall deadline (GPU_CHECK_BUDGET_S, default 465 s
# on a GPU): a stage that fails or runs out of time records its status and the end of its log in
# the report, and the next stage runs. Stage files and logs go to a fresh temporary folder
# (printed). When $OUT is set, gpu.md, gpu.json (every number) and gpu_check.log (every stage's
# log) are copied there. A GPU run that measured at least one training step also writes
# bench/results/gpu.md and .json, replacing the published GPU numbers (this script's purpose; a
# run that measured nothing leaves them alone). A dry run (--dry-run or GPU_CHECK_ALLOW_CPU=1)
# never writes into bench/results/.
#
# Environment: OUT, GPU_CHECK_PYTHON (use this interpreter; no install), GPU_CHECK_VENV (where the
# install goes; default ${TMPDIR:-/tmp}/keras_pggan_gpu_venv, reused when it already imports
# keras_pggan from this checkout), GPU_CHECK_BUDGET_S, GPU_CHECK_ALLOW_CPU=1 (= --dry-run).
set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2

MODE=gpu
REPORT_ONLY=""
case "${1:-}" in
  --dry-run) MODE=dry ;;
  --report-only)
    REPORT_ONLY="${2:?--report-only needs the folder of a previous run}"
    ;;
  -h | --help)
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  "") ;;
  *)
    echo "gpu_check.sh: unknown argument $1 (--dry-run, --report-only DIR, --help)" >&2
    exit 2
    ;;
esac
if [ "${GPU_CHECK_ALLOW_CPU:-0}" = 1 ]; then MODE=dry; fi

# -- the report writer (stdlib Python: it works when the install failed) ----------------------------

write_report() { # write_report WORK MODE: WORK/gpu.md and WORK/gpu.json from WORK's stage files
  python3 - "$1" "$2" <<'PY'
import glob
import json
import os
import sys
import time

work, mode = sys.argv[1], sys.argv[2]


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def tail(path, n=20):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [ln.rstrip() for ln in f if ln.strip()]
    except OSError:
        return []
    return lines[-n:]


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]


stages = []
for path in sorted(glob.glob(os.path.join(work, "stages", "*.status"))):
    with open(path, encoding="utf-8") as f:
        name, status, seconds, budget = f.read().strip().split("|", 3)
    stages.append({"name": name, "status": status, "seconds": int(seconds), "budget": budget})

smi = []
try:
    with open(os.path.join(work, "nvidia_smi.csv"), encoding="utf-8") as f:
        smi = [[c.strip() for c in ln.split(",")] for ln in f if ln.strip()]
except OSError:
    pass
tf_facts = load(os.path.join(work, "tf.json")) or {}
bench = os.path.join(work, "bench")
train = []
for path in sorted(glob.glob(os.path.join(bench, "train_step_*.json"))):
    # train_step_<x>.json and train_step_<x>_xla.json: one group, one float32 reference.
    group = os.path.basename(path)[: -len(".json")].removesuffix("_xla")
    train += [{**c, "group": group} for c in (load(path) or {}).get("cases", [])]
pipeline = load(os.path.join(bench, "input_pipeline.json"))
inference = load(os.path.join(bench, "inference.json"))

lines = ["# GPU check", ""]
if mode == "dry":
    lines += [
        "**Dry run on CPU** (`scripts/gpu_check.sh --dry-run`): every stage with the tiny preset at "
        "64² and 1 step. These are not GPU numbers; they show the check's logic works.",
        "",
    ]
started = load(os.path.join(work, "started.json")) or {}
lines.append(
    f"Ran {started.get('date', '?')} by `scripts/gpu_check.sh` (mode {mode}), "
    f"{sum(s['seconds'] for s in stages)} s in stages."
)
lines.append("")
if smi:
    for name, driver, memory, *cap in smi:
        cc = f", compute capability {cap[0]}" if cap and cap[0] else ""
        lines.append(f"- GPU: **{name}**, driver {driver}, {memory}{cc} (nvidia-smi)")
else:
    lines.append("- GPU: none found by nvidia-smi")
if tf_facts:
    lines.append(
        f"- TensorFlow {tf_facts.get('tensorflow')} (built for CUDA {tf_facts.get('cuda_build')}, "
        f"cuDNN {tf_facts.get('cudnn_build')}), Keras {tf_facts.get('keras')}, Python "
        f"{tf_facts.get('python')}; GPUs TensorFlow sees: "
        f"{', '.join(tf_facts.get('gpus') or []) or 'none'}; host: {tf_facts.get('cores')} cores"
    )
else:
    lines.append("- TensorFlow: not importable (see the install and tf_facts stages)")
lines += ["", "## Stages", ""]
lines += table(
    ["stage", "status", "seconds", "budget s"],
    [[s["name"], s["status"], s["seconds"], s["budget"]] for s in stages],
)

lines += ["", "## Train step (cached tensors, bench/train_step.py)", ""]
if train:
    ref = {}
    for c in train:
        key = (c["group"], c["preset"], c["size"], c["global_batch"])
        if c["precision"] == "float32" and c.get("xla") is False and "error" not in c:
            ref.setdefault(key, c["seconds_per_step"])
    rows = []
    for c in train:
        head = [c["preset"], f"{c['size']}²", c["global_batch"], c["device"], c["precision"]]
        if "error" in c:
            rows.append([*head, f"({c['jit_compile']})", "error", "–", "–", "–"])
            continue
        base = ref.get((c["group"], c["preset"], c["size"], c["global_batch"]))
        peak = c.get("peak_gpu_mib")
        rows.append(
            [
                *head,
                "on" if c["xla"] else "off",
                f"{c['seconds_per_step'] * 1e3:.1f}",
                f"{c['images_per_second']:.1f}",
                f"{base / c['seconds_per_step']:.2f}×" if base else "–",
                f"{peak:,.0f}" if peak is not None else "–",
            ]
        )
    lines += table(
        [
            "preset",
            "size",
            "batch",
            "device",
            "precision",
            "XLA",
            "ms/step",
            "img/s",
            "speed-up vs float32",
            "peak GPU MiB",
        ],
        rows,
    )
    lines += [
        "",
        "- One D and one G update per step; warm-up steps (tracing, XLA compilation, cuDNN "
        "autotuning) untimed; on a GPU, ms/step = (fit(N+1) − fit(1))/N.",
        "- speed-up vs float32 = the float32, XLA-off step time of the same preset and batch ÷ "
        "this one's.",
        "- peak GPU MiB: TensorFlow's allocator peak in that case (weights, optimiser state, "
        "activations, workspace), the measured counterpart of the estimates in docs/gpu.md.",
    ]
    lines += [
        f"- error: {c['preset']} batch {c['global_batch']} {c['precision']} jit_compile "
        f"{c['jit_compile']}: `{c['error']}`"
        for c in train
        if "error" in c
    ]
else:
    lines.append("No training step was measured (see Stages and Failures).")

lines += ["", "## Input pipeline vs the train step (bench/input_pipeline.py)", ""]
if pipeline:
    lines += table(pipeline["header"], pipeline["rows"]) + [""]
    lines += [f"- {n}" for n in pipeline.get("notes", [])]
else:
    lines.append("Not measured (see Stages and Failures).")

lines += ["", "## Inference, batch 1 (bench/inference.py)", ""]
if inference:
    lines += table(inference["header"], inference["rows"]) + [""]
    lines += [f"- {n}" for n in inference.get("notes", [])]
    if mode == "gpu":
        lines.append(
            "- Keras and SavedModel run on the GPU; LiteRT (TFLite) runs on the CPU (no GPU "
            "delegate), so its column is the host's."
        )
else:
    lines.append("Not measured (see Stages and Failures).")

lines += ["", "## Tests", ""]
test_log = os.path.join(work, "logs", "tests.log")
summary = [ln for ln in tail(test_log, 400) if " in " in ln and ("passed" in ln or "failed" in ln
           or "error" in ln or "tests collected" in ln or "no tests ran" in ln)]
progress = "".join(
    ln.split("[")[0].strip() for ln in tail(test_log, 400)
    if ln.rstrip().endswith("%]") and set(ln.split("[")[0].strip()) <= set(".FEsxX")
)
test_stage = next((s for s in stages if s["name"] == "tests"), None)
if summary:
    lines.append(f"`{summary[-1].strip('= ')}` ({test_stage['status'] if test_stage else '?'})")
elif progress:
    lines.append(
        f"No summary line ({test_stage['status'] if test_stage else '?'}): "
        f"{progress.count('.')} passed, {progress.count('F')} failed, {progress.count('E')} "
        f"errors, {progress.count('s')} skipped before it stopped."
    )
else:
    lines.append(f"No test result ({test_stage['status'] if test_stage else 'not run'}).")

failed = [s for s in stages if not s["status"].startswith(("ok", "skipped"))]
if failed:
    lines += ["", "## Failures", ""]
    for s in failed:
        lines += [f"### {s['name']}: {s['status']}", "", "```"]
        lines += tail(os.path.join(work, "logs", f"{s['name']}.log"), 15) or ["(empty log)"]
        lines += ["```", ""]

md = os.path.join(work, "gpu.md")
with open(md, "w", encoding="utf-8") as f:
    f.write("\n".join(lines).rstrip() + "\n")
with open(os.path.join(work, "gpu.json"), "w", encoding="utf-8") as f:
    json.dump(
        {
            "mode": mode,
            "started": started,
            "nvidia_smi": smi,
            "tensorflow": tf_facts,
            "stages": stages,
            "train_step": train,
            "input_pipeline": pipeline,
            "inference": inference,
            "written": time.strftime("%Y-%m-%d %H:%M"),
        },
        f,
        indent=2,
    )
print("\n".join(lines))
PY
}

if [ -n "$REPORT_ONLY" ]; then
  [ -f "$REPORT_ONLY/started.json" ] || {
    echo "gpu_check.sh: $REPORT_ONLY has no started.json (not a gpu_check folder)" >&2
    exit 2
  }
  write_report "$REPORT_ONLY" "$(cat "$REPORT_ONLY/mode" 2>/dev/null || echo gpu)"
  exit $?
fi

# -- the stages ------------------------------------------------------------------------------------

START=$(date +%s)
if [ "$MODE" = gpu ]; then DEFAULT_BUDGET=465 SCALE=1; else DEFAULT_BUDGET=900 SCALE=2; fi
BUDGET=${GPU_CHECK_BUDGET_S:-$DEFAULT_BUDGET}
RESERVE=15 # seconds kept for the report and the copies
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")"
mkdir -p "$WORK/stages" "$WORK/logs" "$WORK/bench"
echo "$MODE" >"$WORK/mode"
printf '{"date": "%s", "mode": "%s", "budget_s": %s}\n' "$(date '+%Y-%m-%d %H:%M %Z')" "$MODE" \
  "$BUDGET" >"$WORK/started.json"
echo "gpu_check: mode $MODE, stage files in $WORK, budget ${BUDGET} s"
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-1}"
# Allocate GPU memory as needed (several test processes share one GPU); the bench's peak
# memory column reads the allocator's peak, which growth does not change.
export TF_FORCE_GPU_ALLOW_GROWTH="${TF_FORCE_GPU_ALLOW_GROWTH:-true}"
N=0

record() { # record NAME STATUS SECONDS BUDGET
  N=$((N + 1))
  printf '%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" >"$WORK/stages/$(printf %02d $N)_$1.status"
  echo "gpu_check: stage $1: $2 ($3 s)"
}

stage() { # stage NAME BUDGET_S COMMAND...: run under timeout and the overall deadline
  local name=$1 want=$(($2 * SCALE)) # a dry run's CPU gets twice the time
  shift 2
  local left=$((START + BUDGET - RESERVE - $(date +%s)))
  local limit=$((want < left ? want : left))
  if [ "$limit" -lt 10 ]; then
    record "$name" "skipped: out of time (${left} s left of the ${BUDGET} s budget)" 0 "$want"
    return 1
  fi
  echo "gpu_check: stage $name (up to $limit s): $*"
  local t0 rc
  t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >"$WORK/logs/$name.log" 2>&1
  rc=$?
  local took=$(($(date +%s) - t0))
  if [ $rc -eq 0 ]; then
    record "$name" ok "$took" "$limit"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    record "$name" "timed out after $limit s" "$took" "$limit"
  else
    record "$name" "failed (exit $rc)" "$took" "$limit"
  fi
  return $rc
}

skip() { record "$1" "skipped: $2" 0 0; }

# 1. The GPU as the driver sees it.
if command -v nvidia-smi >/dev/null 2>&1; then
  # compute_cap is a newer query field: without it, the other three.
  stage nvidia_smi 20 bash -c "nvidia-smi && { nvidia-smi --format=csv,noheader \
    --query-gpu=name,driver_version,memory.total,compute_cap >'$WORK/nvidia_smi.csv' \
    || nvidia-smi --format=csv,noheader --query-gpu=name,driver_version,memory.total \
    >'$WORK/nvidia_smi.csv'; } && cat '$WORK/nvidia_smi.csv'"
elif [ "$MODE" = dry ]; then
  skip nvidia_smi "dry run: no nvidia-smi on this machine"
else
  record nvidia_smi "failed: nvidia-smi not found (no NVIDIA driver?)" 0 0
fi

# 2. The install: a venv from this checkout, unless an interpreter is given.
VENV="${GPU_CHECK_VENV:-${TMPDIR:-/tmp}/keras_pggan_gpu_venv}"
reusable() { # the venv imports keras_pggan from this checkout and TensorFlow
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import os, sys, keras_pggan, tensorflow
sys.exit(not os.path.realpath(keras_pggan.__file__).startswith(os.path.realpath('$ROOT') + '/'))" \
    >/dev/null 2>&1
}
if [ -n "${GPU_CHECK_PYTHON:-}" ]; then
  PY="$GPU_CHECK_PYTHON"
  skip install "GPU_CHECK_PYTHON=$PY given"
elif [ "$MODE" = dry ]; then
  PY="$ROOT/.venv/bin/python"
  [ -x "$PY" ] || PY=python3
  skip install "dry run: uses $PY; a GPU run makes a venv in $VENV and runs pip install -e \".[test,cuda]\""
elif reusable; then
  PY="$VENV/bin/python"
  skip install "reused $VENV (imports keras_pggan from this checkout)"
else
  BASE_PY="$(command -v python3.11 || command -v python3)"
  PY="$VENV/bin/python"
  stage install 240 bash -c "'$BASE_PY' -m venv '$VENV' && '$VENV/bin/pip' install -q \
    --disable-pip-version-check -e '.[test,cuda]' && { '$VENV/bin/pip' list 2>/dev/null \
    | grep -iE '^(tensorflow|keras|nvidia-cudnn-cu[0-9]+|nvidia-cublas-cu[0-9]+) '; true; }"
fi

# 3. What TensorFlow sees; on a GPU run, a GPU or this stage fails.
stage tf_facts 60 "$PY" - "$WORK/tf.json" "$MODE" <<'PY'
import json, os, platform, sys

import keras
import tensorflow as tf

gpus = tf.config.list_physical_devices("GPU")
details = [tf.config.experimental.get_device_details(g) for g in gpus]
info = tf.sysconfig.get_build_info()
facts = {
    "tensorflow": tf.__version__,
    "keras": keras.__version__,
    "python": platform.python_version(),
    "cuda_build": info.get("cuda_version"),
    "cudnn_build": info.get("cudnn_version"),
    "gpus": [d.get("device_name", "GPU") for d in details],
    "compute_capability": [".".join(map(str, d.get("compute_capability", ()))) for d in details],
    "cores": os.cpu_count(),
}
if gpus:
    with tf.device("GPU:0"):
        x = tf.random.normal((1024, 1024))
        y = tf.linalg.matmul(x, x)
    facts["matmul_device"] = y.device
print(json.dumps(facts, indent=2))
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump(facts, f, indent=2)
if sys.argv[2] == "gpu" and not gpus:
    sys.exit("TensorFlow sees no GPU: CUDA libraries missing (pip install -e '.[cuda]')?")
PY
HAVE_TF=$?
if [ "$MODE" = gpu ] && [ $HAVE_TF -ne 0 ]; then
  BENCH_SKIP="TensorFlow with a GPU is not available (stage tf_facts)"
else
  BENCH_SKIP=""
fi

# 4-10. Benchmarks and tests, the most wanted first (the deadline cuts the last ones short): the
# step without XLA (float32 vs mixed_float16), the tests, then XLA (compiling takes a while:
# mixed_float16 only). A dry run: the tiny preset at 64², 1 step, batch 2.
if [ "$MODE" = gpu ]; then
  SIZE=256 BATCHES=8,32 WARMUP=2 STEPS=5 PRESET_A=pggan-dres PRESET_B=pggan-res
  # XLA off here: its compilation would take most of this stage's minute.
  PIPE_ARGS=(--size 256 --batch-size 32 --batches 10 --steps 3 --precision mixed_float16
    --jit-compile false)
  INF_ARGS=(--sizes 256,512 --repeats 3)
else
  SIZE=64 BATCHES=2 WARMUP=1 STEPS=1 PRESET_A=tiny PRESET_B=tiny
  PIPE_ARGS=(--size 64 --batch-size 2 --batches 2 --steps 1 --preset tiny)
  INF_ARGS=(--preset tiny --sizes 64,128 --repeats 1)
fi
PLAIN=(--precision float32,mixed_float16 --jit-compile false)
XLA=(--precision mixed_float16 --jit-compile true)
train_stage() { # train_stage NAME PRESET BUDGET FLAGS...
  if [ -n "$BENCH_SKIP" ]; then skip "$1" "$BENCH_SKIP"; return; fi
  local name=$1 preset=$2 budget=$3
  shift 3
  stage "$name" "$budget" "$PY" -m bench.train_step --presets "$preset" --sizes $SIZE \
    --batch-size $BATCHES "$@" --replicas 1 --warmup $WARMUP --steps $STEPS \
    --out "$WORK/bench" --name "$name" --overwrite
}
# A dry run has one tiny preset for both: the res stages would repeat the dres ones word for word.
DRY_SAME="dry run: the tiny preset, as in the dres stage"
train_stage train_step_dres "$PRESET_A" 75 "${PLAIN[@]}"
if [ "$MODE" = dry ]; then skip train_step_res "$DRY_SAME"; else
  train_stage train_step_res "$PRESET_B" 60 "${PLAIN[@]}"
fi

TESTS=()
for t in tests/precision_test.py tests/contracts_test.py tests/train_test.py; do
  [ -f "$t" ] && TESTS+=("$t")
done
if [ ${#TESTS[@]} -eq 0 ]; then
  skip tests "none of the test files found"
elif [ "$MODE" = dry ]; then # the suite is CI's job on CPU: collect only
  stage tests 60 "$PY" -m pytest -x -q -p no:cacheprovider --collect-only "${TESTS[@]}"
elif [ -n "$BENCH_SKIP" ]; then
  skip tests "$BENCH_SKIP"
else
  XDIST=()
  "$PY" -c "import xdist" >/dev/null 2>&1 && XDIST=(-n 4) # 4 processes share the GPU
  # KERAS_PGGAN_TEST_GPU=1: tests/conftest.py otherwise hides the GPU (CPU-measured tolerances)
  stage tests 90 env KERAS_PGGAN_TEST_GPU=1 "$PY" -m pytest -q -p no:cacheprovider \
    ${XDIST[@]+"${XDIST[@]}"} "${TESTS[@]}"
fi

train_stage train_step_dres_xla "$PRESET_A" 75 "${XLA[@]}"
if [ "$MODE" = dry ]; then skip train_step_res_xla "$DRY_SAME"; else
  train_stage train_step_res_xla "$PRESET_B" 75 "${XLA[@]}"
fi

if [ -n "$BENCH_SKIP" ]; then
  skip input_pipeline "$BENCH_SKIP"
else
  DATA=embedded
  [ "$MODE" = gpu ] && [ -d "$ROOT/../shared/data/train" ] && DATA="$ROOT/../shared/data/train"
  stage input_pipeline 50 "$PY" -m bench.input_pipeline --data "$DATA" "${PIPE_ARGS[@]}" \
    --out "$WORK/bench" --overwrite
fi

if [ -n "$BENCH_SKIP" ]; then
  skip inference "$BENCH_SKIP"
else
  stage inference 50 "$PY" -m bench.inference "${INF_ARGS[@]}" --paths keras,savedmodel,fp32 \
    --rss-side 0 --out "$WORK/bench" --overwrite
fi

# -- the report and where it goes -----------------------------------------------------------------

write_report "$WORK" "$MODE" >"$WORK/logs/report.log" 2>&1 || {
  echo "gpu_check: the report writer failed:" >&2
  cat "$WORK/logs/report.log" >&2
}
cat "$WORK/gpu.md" 2>/dev/null
for log in "$WORK"/logs/*.log; do
  printf '\n===== %s =====\n' "$(basename "$log")"
  tail -n 300 "$log"
done >"$WORK/gpu_check.log"
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT" # three files: gpu.json holds every benchmark's numbers
  cp "$WORK/gpu.md" "$WORK/gpu.json" "$WORK/gpu_check.log" "$OUT/" 2>/dev/null
  echo "gpu_check: copied gpu.md, gpu.json and gpu_check.log (every stage's log) to $OUT"
fi
MEASURED=$(python3 -c "import json, sys
print(sum('error' not in c for c in json.load(open(sys.argv[1]))['train_step']))" \
  "$WORK/gpu.json" 2>/dev/null || echo 0)
if [ "$MODE" = gpu ] && [ "$MEASURED" -gt 0 ]; then
  cp "$WORK/gpu.md" "$WORK/gpu.json" "$ROOT/bench/results/"
  echo "gpu_check: wrote bench/results/gpu.md and .json ($MEASURED training-step cases)"
elif [ "$MODE" = gpu ]; then
  echo "gpu_check: no training step measured: bench/results/ left as it was"
fi
echo "gpu_check: done in $(($(date +%s) - START)) s; report $WORK/gpu.md"
