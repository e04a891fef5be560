"""Images/s of the Beam pipeline (DirectRunner, 1 and 2 workers) against ``inpaint --input-dir``.

Example:
    python -m bench.batch                        # 200 photos at 512², the shipped int8 build
    python -m bench.batch --quick                # 24 photos at 256²
    python -m bench.batch --model pggan_dres --count 200 --write-results

Both paths fill the same photos (scikit-image's sample photos, cropped, flipped and resized to
``--size``², JPEG, with a ``<stem>_mask.png`` of a few boxes beside each, ~10 % hole) with the same
model, in the same run, each as its own process started the way a user starts it (so each
figure includes the interpreter, TensorFlow and model start-up, amortised over ``--count``
images). The pipeline runs with ``--direct_num_workers=1`` (in memory) and ``=N
--direct_running_mode=multi_processing`` for each N of ``--workers`` above 1. The table gives
wall time, images/s, the ratio to the ``inpaint`` loop, seconds per image per worker and CPU
seconds per image (start-up included; the figures docs/batch.md projects 10 M photos from).
Writes ``<out>/<name>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from bench.common import add_output_args, machine_facts, report_prefix_or_none, write_report

# scikit-image's colour sample photos (all ship with the package).
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina", "cat")
HOLE_BOXES = 3


def make_photos(folder: str, count: int, size: int, seed: int = 0) -> None:
    """``count`` photos ``NNNN.jpg`` at ``size``² with a box mask ``NNNN_mask.png`` beside each."""
    import numpy as np
    from PIL import Image
    from skimage import data, transform

    rng = np.random.default_rng(seed)
    sources = [getattr(data, name)() for name in PHOTOS if hasattr(data, name)]
    sources = [s for s in sources if s.ndim == 3 and s.shape[-1] == 3]
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        src = sources[i % len(sources)]
        side = int(min(src.shape[:2]) * rng.uniform(0.6, 1.0))
        top = rng.integers(0, src.shape[0] - side + 1)
        left = rng.integers(0, src.shape[1] - side + 1)
        crop = src[top : top + side, left : left + side]
        crop = crop[:, ::-1] if i // len(sources) % 2 else crop
        image = (transform.resize(crop, (size, size), anti_aliasing=True) * 255).round()
        holes = np.zeros((size, size), np.uint8)
        for _ in range(HOLE_BOXES):
            h, w = rng.integers(size // 10, size // 4, 2)
            y, x = rng.integers(0, size - h), rng.integers(0, size - w)
            holes[y : y + h, x : x + w] = 255
        Image.fromarray(image.astype(np.uint8)).save(
            os.path.join(folder, f"{i:04d}.jpg"), quality=92
        )
        Image.fromarray(holes).save(os.path.join(folder, f"{i:04d}_mask.png"))


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of it and its worker processes) of a command (its output is
    kept only when it fails). CPU seconds are what a shared machine cannot distort much."""
    cpu0, t0 = _children_cpu_s(), time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - t0, _children_cpu_s() - cpu0
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return seconds, cpu


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="pggan_dres-int8", help="model path or shipped name")
    p.add_argument("--count", type=int, default=200, help="photos")
    p.add_argument("--size", type=int, default=512, help="photo side (px)")
    p.add_argument("--workers", default="1,2", help="DirectRunner worker counts, comma-separated")
    p.add_argument("--num-threads", type=int, help="TFLite threads per process")
    p.add_argument("--quick", action="store_true", help="24 photos at 256²")
    add_output_args(p, "batch")
    args = p.parse_args(argv)
    if args.quick:
        args.count, args.size = 24, 256
    prefix = report_prefix_or_none(args)
    if prefix is None:
        return 2
    workers = [int(w) for w in args.workers.split(",")]
    work = tempfile.mkdtemp(prefix="bench_batch_")
    try:
        photos = os.path.join(work, "photos")
        make_photos(photos, args.count, args.size)
        common = ["--model", args.model, "--working-size", str(max(512, args.size))]
        if args.num_threads:
            common += ["--num-threads", str(args.num_threads)]
        python = [sys.executable, "-m"]
        runs = [
            (
                "inpaint --input-dir (loop)",
                1,
                python + ["keras_pggan.inpaint", *common, "--quiet", "--input-dir", photos,
                          "--output-dir", os.path.join(work, "loop")],
            )
        ]  # fmt: skip
        for n in workers:
            beam_flags = [f"--direct_num_workers={n}"]
            if n > 1:
                beam_flags.append("--direct_running_mode=multi_processing")
            runs.append(
                (
                    f"beam DirectRunner, {n} worker{'s' if n > 1 else ''}",
                    n,
                    python + ["keras_pggan.batch", *common, "--input", photos,
                              "--output", os.path.join(work, f"beam{n}"), *beam_flags],
                )
            )  # fmt: skip
        rows, results = [], []
        for name, n, command in runs:
            print(f"[bench] {name}: {args.count} photos at {args.size}²", flush=True)
            seconds, cpu = timed(command)
            results.append({"path": name, "workers": n, "seconds": seconds, "cpu_s": cpu})
        base = args.count / results[0]["seconds"]
        for r in results:
            ips = args.count / r["seconds"]
            r.update(
                images_per_s=ips,
                ratio=ips / base,
                s_per_image_worker=r["workers"] / ips,
                cpu_s_per_image=r["cpu_s"] / args.count,
            )
            rows.append(
                [r["path"], r["workers"], f"{r['seconds']:.1f}", f"{ips:.2f}", f"{ips / base:.2f}×",
                 f"{r['s_per_image_worker']:.3f}", f"{r['cpu_s_per_image']:.3f}"]
            )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_report(
        prefix,
        f"Batch inpainting: Beam DirectRunner vs the inpaint loop ({args.count} photos, "
        f"{args.size}², {args.model})",
        ["path", "workers", "wall s", "images/s", "vs loop", "s/image/worker", "CPU s/image"],
        rows,
        machine_facts(),
        notes=[
            "Each path is one process started as a user starts it: interpreter, TensorFlow and "
            "model start-up are in the wall time, amortised over the photos.",
            "Same photos, same model, same run; outputs are PNG under a fresh folder.",
        ],
        extra={"count": args.count, "size": args.size, "model": args.model, "runs": results},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
