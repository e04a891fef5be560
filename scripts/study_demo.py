"""A perceptual study end to end on simulated voters: evaluate → study app → votes → report.

Example:
    python scripts/study_demo.py                       # a temp folder; prints the report table
    python scripts/study_demo.py --out runs/study_demo --voters 8 --per-voter 20
    python scripts/study_demo.py --images eval/x/outputs --out runs/study_x

Without ``--images`` it first runs ``python -m keras_pggan.evaluate --save-outputs`` with the
shipped model (``pggan``) and the Telea and mean-fill baselines on the embedded photos (centre
holes, ``--size`` px), so the study shows real inpainted images. Then it starts the study app
(the same ``create_study_app`` the CLI serves) on a free 127.0.0.1 port and lets ``--voters``
simulated voters (``sim-0``, ``sim-1``, ...) score ``--per-voter`` images each over HTTP as the
page does (cookie, ``/api/next``, the image, ``POST /api/vote``), all at once, one thread each.

The score model (stated, not measured): a simulated voter cannot see quality, so it reads the
true method of the token it was shown from the server's side and draws
``round(mu[method] + voter bias + noise)`` clipped to 1–5, with ``mu`` = 4.3 (original), 3.4
(pggan), 2.9 (telea), 1.8 (mean), 3.0 for any other method, voter bias ~ N(0, 0.3) and noise ~
N(0, 0.7), seeded by ``--seed``. The report is then ``python -m keras_pggan.studio report``.
Everything goes to ``--out`` (new or empty), by default a fresh temp folder that is kept.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading

import numpy as np

MU = {"original": 4.3, "pggan": 3.4, "telea": 2.9, "mean": 1.8}
OTHER_MU, BIAS_SD, NOISE_SD = 3.0, 0.3, 0.7


def make_study_images(out: str, size: int, count: int | None) -> str:
    """Evaluates the shipped model with saved outputs (``python -m keras_pggan.evaluate
    --save-outputs``) on the embedded photos; returns the outputs folder."""
    from keras_pggan.data.pipeline import default_photo_paths
    from keras_pggan.evaluation.evaluate import EvalConfig, run_evaluation
    from keras_pggan.inference.inpainter import default_model_path

    photos = default_photo_paths()[:count]
    listing = os.path.join(out, "photos.txt")
    with open(listing, "w", encoding="utf-8") as f:
        f.write("\n".join(photos) + "\n")
    eval_dir = os.path.join(out, "eval")
    cfg = EvalConfig(
        models=(("pggan", default_model_path()),),
        data_dir=listing,
        out_dir=eval_dir,
        size=size,
        mask_kind="center",
        baselines=("telea", "mean"),
        num_sheets=0,
        save_outputs=True,
    )
    run_evaluation(cfg, progress=False)
    return os.path.join(eval_dir, "outputs")


def simulate_voter(url: str, name: str, study, rng: np.random.Generator, log: list) -> None:
    """One voter with its own HTTP session, voting until its set is done."""
    import requests

    s = requests.Session()
    # ?voter= names the voter (the page's cookie then carries it): reproducible orders.
    s.get(url + "/", params={"voter": name}).raise_for_status()
    bias = rng.normal(0, BIAS_SD)
    state = s.get(url + "/api/next").json()
    while not state["finished"]:
        s.get(url + state["image"]).raise_for_status()  # "looks" at the photo
        method = study.by_token[state["token"]].method  # the simulation's stand-in for perception
        score = int(
            np.clip(np.round(MU.get(method, OTHER_MU) + bias + rng.normal(0, NOISE_SD)), 1, 5)
        )
        r = s.post(url + "/api/vote", json={"token": state["token"], "score": score})
        r.raise_for_status()
        log.append(score)
        state = r.json()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", help="an existing study folder (default: run evaluate first)")
    p.add_argument("--out", help="output folder, new or empty (default: a new temp folder)")
    p.add_argument("--voters", type=int, default=6, help="simulated voters")
    p.add_argument("--per-voter", type=int, default=16, help="images each voter scores")
    p.add_argument("--size", type=int, default=128, help="evaluation crop side (no --images)")
    p.add_argument("--count", type=int, default=8, help="embedded photos used (no --images)")
    p.add_argument("--seed", type=int, default=0, help="seeds the voters and their orders")
    args = p.parse_args(argv)

    from keras_pggan.io_utils import check_writable
    from keras_pggan.studio import report, votes
    from keras_pggan.studio.study import create_study_app
    from keras_pggan.studio.web import BackgroundServer

    out = args.out or tempfile.mkdtemp(prefix="study_demo_")
    check_writable(out, False, "--out")
    os.makedirs(out, exist_ok=True)
    images = args.images or make_study_images(out, args.size, args.count)
    db = os.path.join(out, "votes.db")
    app = create_study_app(images, votes_path=db, per_voter=args.per_voter, seed=args.seed)
    study = app.state.study
    print(
        f"study: {len(study.image_ids)} images x {len(study.methods)} methods "
        f"({', '.join(study.methods)}); {args.voters} simulated voters x {study.total} votes"
    )
    rngs = [np.random.default_rng([args.seed, k]) for k in range(args.voters)]
    log: list[int] = []
    errors: list[BaseException] = []

    def run(k):
        try:
            simulate_voter(server.url, f"sim-{k}", study, rngs[k], log)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    with BackgroundServer(app) as server:
        threads = [threading.Thread(target=run, args=(k,)) for k in range(args.voters)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    print(f"{len(log)} votes posted")
    # What `python -m keras_pggan.studio report votes.db --out <out>/report` writes and prints.
    result = report.build_result(votes.read_votes(db), db)
    written = report.write_report(result, os.path.join(out, "report"))
    print(report.render_table(result["methods"]))
    print("\n".join(f"wrote {path}" for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
