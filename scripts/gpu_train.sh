#!/usr/bin/env bash
# One timed training run of the picked recipe (v3-lowpass-256: 256² crops, RGB L1 + low-pass hole
# chroma term) on one GPU in mixed_float16, warm-started from saved_models/pggan_dres.keras; then V
# (137 photos, 256², centre-128 and free-form) for the trained generator (EMA) against the warm
# start; prints steps/s and V and copies the run's essentials to $OUT.
#
#   bash scripts/gpu_train.sh --pack [DIR] [--overwrite]  # here, first: the data into DIR
#   bash scripts/gpu_train.sh [DIR]                       # on the GPU machine, DIR carried along
#   bash scripts/gpu_train.sh --dry-run                   # on CPU: tiny widths, 64², 3×2 steps
#
# The photos of the splits are not on a GPU machine, so --pack (default DIR .gpu_pack, ignored
# by git) writes what the run needs, ~14 MB: every GPU_TRAIN_PACK_EVERY-th photo of the train
# split (default 4: 583 of 2,330) as TFRecord shards of JPEGs with the short side 256 (quality
# GPU_TRAIN_PACK_QUALITY, default 75), V's 137 evaluation crops of 256² (JPEG 95, 4:4:4) and
# pack.json. Carry DIR with the run. The run itself: install (a venv from this checkout, reused),
# the recipe's config, training under --time-limit (at most GPU_TRAIN_MINUTES, default 9, and what
# the overall deadline GPU_TRAIN_BUDGET_S, default 580 s, leaves after scoring), V scores, report.
# Every stage runs under `timeout`; stage files, the run directory and the logs go to a fresh
# temporary folder (printed); nothing is written into the checkout. With $OUT set: gpu_train.json
# (every number), gpu_train.log and run/ (config.json, env.json, epochs.jsonl, history.json,
# generator.keras, generator_ema.keras; the newest checkpoints when the run was cut short).
#
# Environment: OUT, GPU_TRAIN_PYTHON (this interpreter; no install), GPU_TRAIN_VENV (default
# ${TMPDIR:-/tmp}/keras_pggan_gpu_venv, shared with gpu_check.sh), GPU_TRAIN_BUDGET_S,
# GPU_TRAIN_MINUTES, GPU_TRAIN_BATCH (default: the recipe's 4), GPU_TRAIN_STEPS_PER_EPOCH (500),
# GPU_TRAIN_JIT (auto: XLA on one GPU), GPU_TRAIN_PACK_EVERY, GPU_TRAIN_PACK_QUALITY,
# GPU_TRAIN_RECIPE (default the picked v3-lowpass-256; v3-wide-256 is the next lever, whose wider
# residual blocks start from the shipped weights exactly: docs/training_recipe.md).
set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2

RECIPE=${GPU_TRAIN_RECIPE:-v3-lowpass-256}
WARM_START=saved_models/pggan_dres.keras
MODE=gpu PACK=.gpu_pack OVERWRITE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --pack) MODE=pack ;;
    --dry-run) MODE=dry ;;
    --overwrite) OVERWRITE=1 ;;
    -h | --help)
      sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "gpu_train.sh: unknown argument $1 (--pack [DIR], --dry-run, --overwrite, --help)" >&2
      exit 2
      ;;
    *) PACK="$1" ;;
  esac
  shift
done

LOCAL_PY="${GPU_TRAIN_PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$LOCAL_PY" ] || command -v "$LOCAL_PY" >/dev/null 2>&1 || LOCAL_PY=python3

# -- the pack (here, before the run; the dry run packs the embedded photos) ----------------------

# python -c "$PACK_PY" DIR full|dry RECIPE EVERY QUALITY: DIR/train/*.tfrecord, DIR/val/<part>/
# *.jpg and DIR/pack.json, written to DIR.partial and renamed.
read -r -d '' PACK_PY <<'PY'
import json
import os
import shutil
import sys
import time

from PIL import Image

from keras_pggan.data.pipeline import default_photo_paths, resolve_sources, write_tfrecords
from keras_pggan.evaluation.evaluate import load_eval_image
from keras_pggan.reports import training_recipe as tr

out, kind, recipe, every, quality = sys.argv[1], sys.argv[2], sys.argv[3], *map(int, sys.argv[4:])
if kind == "full":
    train_all = resolve_sources(list(tr.recipe_config(recipe, False).data.train))[0]
    cmp_files, imagenet = tr.val_files()
    short, shards = 256, 8
else:  # the dry run: the embedded photos, small
    train_all = default_photo_paths()
    cmp_files, imagenet = train_all[:2], train_all[2:4]
    short, shards = 96, 2
train = train_all[::every]
# V's two parts as the recipe reports and score_levers name them; file i keeps index i, so the
# fixed mask set gives it the mask the card's evaluation gives it.
parts = {"cmp_facade_val": cmp_files, "imagenet_holdout": imagenet}
tmp = out.rstrip("/") + ".partial"
shutil.rmtree(tmp, ignore_errors=True)
t0 = time.time()
report = write_tfrecords(train, os.path.join(tmp, "train"), shards, "train", short, quality)
if report["skipped"]:
    sys.exit(f"undecodable train photos: {sorted(report['skipped'])[:3]}")
val_bytes = 0
for part, files in parts.items():
    os.makedirs(os.path.join(tmp, "val", part))
    for i, f in enumerate(files):
        stem = os.path.splitext(os.path.basename(f))[0]
        name = os.path.join(tmp, "val", part, f"{i:04d}_{stem}.jpg")
        # JPEG 95 with full-resolution chroma: 4.8 MB for V, 1.4 levels from the exact crops
        # (PNG: 15 MB, more than the carry allows); both arms are scored on these pixels.
        Image.fromarray(load_eval_image(f, 256)).save(
            name, "JPEG", quality=95, subsampling="4:4:4", optimize=True
        )
        val_bytes += os.path.getsize(name)
info = {
    "recipe": recipe,
    "made": time.strftime("%Y-%m-%d %H:%M"),
    "kind": kind,
    "train": {"photos": report["written"], "of": len(train_all), "every": every,
              "short_side": short, "jpeg_quality": quality, "shards": shards,
              "bytes": report["bytes"]},
    "val": {"photos": {p: len(f) for p, f in parts.items()}, "size": 256,
            "format": "jpeg 95, 4:4:4", "bytes": val_bytes},
}
info["bytes"] = report["bytes"] + val_bytes
with open(os.path.join(tmp, "pack.json"), "w", encoding="utf-8") as f:
    json.dump(info, f, indent=1)
shutil.rmtree(out, ignore_errors=True)
os.replace(tmp, out)
t = info["train"]
print(f"packed {t['photos']} of {t['of']} train photos (every {every}th, short side {short}, "
      f"JPEG {quality}: {t['bytes'] / 1e6:.1f} MB) and V ({sum(info['val']['photos'].values())} "
      f"crops of 256², JPEG 95: {val_bytes / 1e6:.1f} MB) into {out}: "
      f"{info['bytes'] / 1e6:.1f} MB in {time.time() - t0:.0f} s")
PY

if [ "$MODE" = pack ]; then
  if [ -e "$PACK" ] && [ "$OVERWRITE" != 1 ]; then
    echo "gpu_train.sh: $PACK exists; --overwrite replaces it" >&2
    exit 2
  fi
  TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" "$LOCAL_PY" -c "$PACK_PY" "$PACK" full \
    "$RECIPE" "${GPU_TRAIN_PACK_EVERY:-4}" "${GPU_TRAIN_PACK_QUALITY:-75}" || exit 1
  echo "gpu_train.sh: carry $PACK (du: $(du -sh "$PACK" | cut -f1)) with the run"
  exit 0
fi

# -- the stages ------------------------------------------------------------------------------------

START=$(date +%s)
if [ "$MODE" = gpu ]; then DEFAULT_BUDGET=580; else DEFAULT_BUDGET=300; fi
BUDGET=${GPU_TRAIN_BUDGET_S:-$DEFAULT_BUDGET}
RESERVE=10   # the report and the copies
SCORE_S=75   # V: two generators × 137 photos × 2 mask sets, TensorFlow's start included
STARTUP_S=45 # the train command before fit: TensorFlow, data, model, warm start
SLACK_S=60   # --time-limit stops after the epoch that ends past it: one epoch's room
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu_train.XXXXXX")"
mkdir -p "$WORK/stages" "$WORK/logs"
echo "$MODE" >"$WORK/mode"
echo "gpu_train: mode $MODE, work folder $WORK, budget ${BUDGET} s"
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-1}"
N=0

record() { # record NAME STATUS SECONDS
  N=$((N + 1))
  printf '%s|%s|%s\n' "$1" "$2" "$3" >"$WORK/stages/$(printf %02d $N)_$1.status"
  echo "gpu_train: stage $1: $2 ($3 s)"
}

stage() { # stage NAME LIMIT_S COMMAND...: under timeout and the overall deadline
  local name=$1 want=$2
  shift 2
  local left=$((START + BUDGET - RESERVE - $(date +%s)))
  local limit=$((want < left ? want : left))
  if [ "$limit" -lt 5 ]; then
    record "$name" "skipped: out of time" 0
    return 1
  fi
  echo "gpu_train: stage $name (up to $limit s): $*"
  local t0=$(date +%s) rc
  timeout --kill-after=10 "$limit" "$@" >"$WORK/logs/$name.log" 2>&1
  rc=$?
  local took=$(($(date +%s) - t0))
  case $rc in
    0) record "$name" ok "$took" ;;
    124 | 137) record "$name" "timed out after $limit s" "$took" ;;
    *) record "$name" "failed (exit $rc)" "$took" ;;
  esac
  return $rc
}

# 1. The GPU, the interpreter, the data.
if command -v nvidia-smi >/dev/null 2>&1; then
  stage nvidia_smi 20 nvidia-smi --format=csv,noheader \
    --query-gpu=name,driver_version,memory.total \
    && cp "$WORK/logs/nvidia_smi.log" "$WORK/nvidia_smi.csv"
else
  record nvidia_smi "skipped: no nvidia-smi" 0
fi

VENV="${GPU_TRAIN_VENV:-${TMPDIR:-/tmp}/keras_pggan_gpu_venv}"
if [ -n "${GPU_TRAIN_PYTHON:-}" ] || [ "$MODE" = dry ]; then
  PY="$LOCAL_PY"
  record install "skipped: uses $PY" 0
elif [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import os, sys, keras_pggan, tensorflow
sys.exit(not os.path.realpath(keras_pggan.__file__).startswith(os.path.realpath('$ROOT') + '/'))" \
  >/dev/null 2>&1; then
  PY="$VENV/bin/python"
  record install "skipped: reused $VENV" 0
else
  BASE_PY="$(command -v python3.11 || command -v python3)"
  PY="$VENV/bin/python"
  # Few retries: without a registry the run goes on with an interpreter that has TensorFlow.
  stage install 240 bash -c "'$BASE_PY' -m venv '$VENV' && '$VENV/bin/pip' install -q \
    --disable-pip-version-check --retries 1 --timeout 20 -e '.[cuda]'" \
    || { "$BASE_PY" -c "import tensorflow, keras_pggan" >/dev/null 2>&1 && PY="$BASE_PY" \
      && record install_fallback "ok: $BASE_PY imports TensorFlow (run from the checkout)" 0; }
fi

if [ "$MODE" = dry ]; then
  PACK="$WORK/pack"
  stage pack 60 "$PY" -c "$PACK_PY" "$PACK" dry "$RECIPE" 1 "${GPU_TRAIN_PACK_QUALITY:-75}"
elif [ -f "$PACK/pack.json" ]; then
  record pack "skipped: carried ($PACK)" 0
else
  record pack "failed: $PACK/pack.json missing (run --pack DIR here first and carry DIR)" 0
fi

# 2. The config: the recipe's, unchanged on a GPU; tiny widths and a tiny warm start in a dry run.
WARM="$WARM_START"
stage config 60 "$PY" -m scripts.training_recipe config "$RECIPE" --out "$WORK/config.json"
if [ "$MODE" = dry ]; then
  WARM="$WORK/warm_start.keras"
  stage tiny 60 "$PY" - "$WORK/config.json" "$WARM" <<'PY'
import dataclasses
import sys

from keras_pggan.config import ExperimentConfig, get_preset
from keras_pggan.models.registry import build_generator_for

tiny = get_preset("tiny")
recipe = ExperimentConfig.load(sys.argv[1])
generator = dataclasses.asdict(tiny.generator)
if recipe.generator.residual_filters:  # a wider recipe stays wider than its warm start
    generator["residual_filters"] = 2 * tiny.generator.max_filters
cfg = recipe.replace(generator=generator, discriminator=dataclasses.asdict(tiny.discriminator))
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write(cfg.to_json() + "\n")
# The warm start has the tiny default width, as the shipped file has the default's.
build_generator_for(cfg.replace(generator={"residual_filters": None})).save(sys.argv[2])
PY
fi

# 3. Training: --time-limit leaves room for the last epoch, V's scoring and the report.
RUN="$WORK/run"
ARGS=(--config "$WORK/config.json" --run-dir "$RUN" --init-from "$WARM"
  --data "$PACK/train/*.tfrecord" --val-data "$PACK/val" --precision mixed_float16
  --keep-checkpoints 1 --verbose 2 --jit-compile "${GPU_TRAIN_JIT:-auto}")
if [ "$MODE" = dry ]; then
  # float16 on a CPU: TensorFlow's own kernels then, which have no native dilated gradients.
  export KERAS_PGGAN_NATIVE_DILATION=0
  ARGS+=(--image-size 64 --resize-to 64 --batch-size 2 --epochs 3 --steps-per-epoch 2
    --validation-steps 1)
else
  ARGS+=(--steps-per-epoch "${GPU_TRAIN_STEPS_PER_EPOCH:-500}")
  if [ -n "${GPU_TRAIN_BATCH:-}" ]; then # V's 136 validation images whatever the batch
    ARGS+=(--batch-size "$GPU_TRAIN_BATCH" --validation-steps $((136 / GPU_TRAIN_BATCH)))
  fi
fi
LEFT=$((START + BUDGET - RESERVE - SCORE_S - $(date +%s)))
MAX_S=$((${GPU_TRAIN_MINUTES:-9} * 60))
WINDOW=$((LEFT < MAX_S + STARTUP_S ? LEFT : MAX_S + STARTUP_S))
FIT_S=$((WINDOW - STARTUP_S - SLACK_S))
if [ ! -f "$PACK/pack.json" ] || [ ! -f "$WORK/config.json" ]; then
  record train "skipped: no pack or no config" 0
elif [ "$FIT_S" -lt 30 ]; then
  record train "skipped: out of time ($LEFT s left)" 0
else
  echo "$FIT_S" >"$WORK/time_limit_s"
  stage train "$WINDOW" "$PY" -m keras_pggan.train "${ARGS[@]}" \
    --time-limit "$(awk "BEGIN {print $FIT_S / 60}")"
fi

# 4. V: the trained generator's moving average (the newest checkpoint's when the run was cut
# short) against the warm start, each V part with the card's fixed seeded mask sets.
if [ -d "$RUN" ]; then
  stage score $((SCORE_S + 30)) "$PY" - "$PACK" "$RUN" "$WARM" "$WORK/v_scores.json" <<'PY'
import json
import os
import sys

from keras_pggan.data.pipeline import list_image_files
from keras_pggan.evaluation.evaluate import score_methods
from keras_pggan.models import saved

pack, run_dir, warm, out = sys.argv[1:]
trained = saved.newest_generator(run_dir, ema=True)
if trained is None:
    sys.exit(f"{run_dir}: no generator saved")
arms = {"warm_start": warm, "trained": trained}
cache: dict = {}
scores, photos = {}, {}
for part in sorted(os.listdir(os.path.join(pack, "val"))):
    files = list_image_files(os.path.join(pack, "val", part))
    photos[part] = len(files)
    scores[part] = score_methods(arms, files, images=cache)
    print(part, json.dumps(scores[part]), flush=True)
with open(out, "w", encoding="utf-8") as f:
    json.dump({"models": arms, "photos": photos, "scores": scores}, f, indent=1)
PY
else
  record score "skipped: no run directory" 0
fi

# -- the report and where it goes (stdlib Python: it works when the install failed) --------------

python3 - "$WORK" "$MODE" "$PACK" "$RECIPE" <<'PY' | tee "$WORK/report.txt"
import glob
import json
import os
import statistics
import sys
import time

work, mode, pack, recipe = sys.argv[1:]
run = os.path.join(work, "run")


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


stages = []
for path in sorted(glob.glob(os.path.join(work, "stages", "*.status"))):
    with open(path, encoding="utf-8") as f:
        name, status, seconds = f.read().strip().split("|", 2)
    stages.append({"name": name, "status": status, "seconds": int(seconds)})
epochs = []
try:
    with open(os.path.join(run, "epochs.jsonl"), encoding="utf-8") as f:
        for line in f:
            try:
                epochs.append(json.loads(line))
            except ValueError:
                break  # a line cut by a kill
except OSError:
    pass
cfg = load(os.path.join(run, "config.json")) or {}
train = {}
if epochs:
    batch = cfg.get("train", {}).get("global_batch_size")
    # An epoch's wall time includes its validation and saves; the first one also the tracing
    # (and XLA compilation), so the steady rate is the median of the others.
    steady = [r["s_per_step"] for r in epochs[1:] if r.get("s_per_step")]
    per_step = statistics.median(steady) if steady else epochs[-1]["wall_s"] / epochs[-1]["step"]
    train = {
        "steps": epochs[-1]["step"],
        "epochs": len(epochs),
        "fit_s": epochs[-1]["wall_s"],
        "steps_per_s": round(1.0 / per_step, 3),
        "steps_per_s_overall": round(epochs[-1]["step"] / epochs[-1]["wall_s"], 3),
        "global_batch": batch,
        "images_per_s": round(batch / per_step, 2) if batch else None,
        "image_size": cfg.get("data", {}).get("image_size"),
        "precision": cfg.get("train", {}).get("precision"),
        "time_limit_s": load(os.path.join(work, "time_limit_s")),
        "last": {k: v for k, v in epochs[-1].items() if k.startswith(("val_", "g_", "d_"))},
    }
v = load(os.path.join(work, "v_scores.json"))
smi = []
try:
    with open(os.path.join(work, "nvidia_smi.csv"), encoding="utf-8") as f:
        smi = [ln.strip() for ln in f if ln.strip()]
except OSError:
    pass

lines = [f"# gpu_train: {recipe} ({mode})", ""]
if mode == "dry":
    lines += ["Dry run on CPU: tiny widths, 64² crops, 3 epochs of 2 steps; not GPU numbers.", ""]
lines.append(f"GPU: {'; '.join(smi) or 'none (nvidia-smi)'}")
lines += ["", "| stage | status | s |", "|---|---|---:|"]
lines += [f"| {s['name']} | {s['status']} | {s['seconds']} |" for s in stages]
lines.append("")
if train:
    lines.append(
        f"Training: {train['steps']} steps in {train['epochs']} epochs, {train['fit_s']:.0f} s "
        f"(batch {train['global_batch']}, {train['image_size']}², {train['precision']}): "
        f"**{train['steps_per_s']:.2f} steps/s** ({train['images_per_s']} images/s; median epoch "
        f"after the first, validation and saves included), {train['steps_per_s_overall']:.2f} "
        "steps/s overall (the first epoch's tracing included)."
    )
else:
    lines.append("Training: no epoch completed (see the stages and the log).")
if v:
    lines += ["", f"V at 256² (trained: {os.path.basename(v['models']['trained'])}):", "",
              "| part (photos) | holes | PSNR warm → trained | SSIM warm → trained | "
              "hole chroma warm → trained |", "|---|---|---|---|---|"]
    for part, arms in v["scores"].items():
        for kind in arms["warm_start"]:
            w, t = arms["warm_start"][kind], arms["trained"][kind]
            lines.append(
                f"| {part} ({v['photos'][part]}) | {kind} | {w['psnr']:.2f} → {t['psnr']:.2f} "
                f"({t['psnr'] - w['psnr']:+.2f}) | {w['ssim']:.4f} → {t['ssim']:.4f} | "
                f"{w['hole_chroma']:.2f} → {t['hole_chroma']:.2f} "
                f"({t['hole_chroma'] - w['hole_chroma']:+.2f}) |"
            )
else:
    lines += ["", "V: not scored (see the stages and the log)."]
failed = [s for s in stages if not s["status"].startswith(("ok", "skipped"))]
for s in failed:
    try:
        with open(os.path.join(work, "logs", f"{s['name']}.log"), encoding="utf-8",
                  errors="replace") as f:
            tail = [ln.rstrip() for ln in f if ln.strip()][-12:]
    except OSError:
        tail = []
    lines += ["", f"{s['name']}: {s['status']}", "```", *tail, "```"]
print("\n".join(lines))
with open(os.path.join(work, "gpu_train.json"), "w", encoding="utf-8") as f:
    json.dump({"mode": mode, "recipe": recipe, "written": time.strftime("%Y-%m-%d %H:%M"),
               "gpu": smi, "stages": stages, "pack": load(os.path.join(pack, "pack.json")),
               "train": train, "v": v}, f, indent=1)
PY

for log in "$WORK"/logs/*.log; do
  printf '\n===== %s =====\n' "$(basename "$log")"
  tail -n 400 "$log"
done >"$WORK/gpu_train.log" 2>/dev/null
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT/run" # 8 files at most: the report, the log and six of the run directory
  cp "$WORK/gpu_train.json" "$WORK/gpu_train.log" "$OUT/" 2>/dev/null
  for f in config.json env.json epochs.jsonl history.json generator.keras generator_ema.keras; do
    [ -f "$RUN/$f" ] && cp "$RUN/$f" "$OUT/run/"
  done
  if [ ! -f "$RUN/generator_ema.keras" ]; then # cut short: the newest epoch's checkpoints
    for f in "$RUN"/checkpoints/generator{,_ema}-epoch*.keras; do
      [ -f "$f" ] && cp "$f" "$OUT/run/"
    done
  fi
  echo "gpu_train: copied gpu_train.json, gpu_train.log and run/ ($(ls "$OUT/run" | xargs)) to $OUT"
fi
echo "gpu_train: done in $(($(date +%s) - START)) s; work folder $WORK"
[ -f "$WORK/v_scores.json" ]
