"""scripts/ablation.py and keras_pggan.reports.ablation: the block-type and up-sampling studies
end to end, the document rules."""

import json
import os
import re

import numpy as np
import pytest
from paper_table_test import _photos

from keras_pggan.reports import ablation as ab
from scripts import ablation as script


def _numbers(row):
    return [float(v) for v in re.findall(r"\| (-?\d+\.\d+)", row)]


@pytest.mark.large
def test_quick_generator_studies_write_their_sections_and_nothing_in_docs(tmp_path, capsys):
    with open(ab.DOC, "rb") as f:
        committed = f.read()
    train = _photos(str(tmp_path / "train"), 6, 1)
    val = _photos(str(tmp_path / "val"), 2, 2)
    out = str(tmp_path / "runs")
    common = ["--quick", "--data", train, "--val-data", val, "--out", out]
    # Two arms of each study, the two its claim compares (each arm trains for ~30 s, mostly
    # tracing; every block type and up-sampling option is built, trained and checked in
    # generator_options_test.py).
    arms = {
        "blocks": ["pggan-dres-standard", "pggan-dres"],
        "upsample": ["pggan-dres", "pggan-dres-transposed"],
    }
    for study in ("blocks", "upsample"):
        argv = [*common, "--study", study, "--methods", ",".join(arms[study])]
        assert script.main(argv) == 0, capsys.readouterr().err
    assert "reusing the finished run" in capsys.readouterr().out  # the shared pggan-dres arm
    doc = os.path.join(out, "ablation.md")
    text = open(doc, encoding="utf-8").read()
    for study in ("blocks", "upsample"):
        begin, end = ab.SECTIONS.markers(study)
        assert text.count(begin) == text.count(end) == 1
        section = text.split(begin)[1].split(end)[0]
        assert "Smoke run (2 steps per arm)" in section
        for label in (ab.STUDIES[study].arms[a] for a in arms[study]):
            row = next(line for line in section.splitlines() if line.startswith(f"| {label} |"))
            numbers = _numbers(row)
            # 2 mask sets × (PSNR, SSIM, L1 [, checkerboard]) + last val hole L1
            assert len(numbers) == (9 if study == "upsample" else 7), row
            assert all(np.isfinite(numbers)), row
        assert "Telea (classical reference)" in section
        assert "Ordering of the arms, best first" in section
        results = json.load(open(os.path.join(out, "ablation", study, "results.json")))
        assert results["study"] == study and set(results["runs"]) == set(arms[study])
        for kind in ("center", "freeform"):
            assert os.path.exists(os.path.join(out, "ablation", study, f"{kind}_00.png"))
            assert f"(ablation/{study}/{kind}_00.png)" in section
    blocks = text.split(ab.SECTIONS.markers("blocks")[0])[1]
    assert "The paper prefers dilated residual blocks" in blocks
    assert re.search(
        r"- both vs standard: better on \d of 6 scores.*(agrees|does not|no clear)", blocks
    )
    upsample = text.split(ab.SECTIONS.markers("upsample")[0])[1]
    assert re.search(r"- bilinear vs transposed: checkerboard \d+\.\d\d vs \d+\.\d\d", upsample)
    assert "(ablation/upsample/zoom_00.png)" in upsample
    assert os.path.exists(os.path.join(out, "ablation", "upsample", "zoom_00.png"))
    with open(ab.DOC, "rb") as f:
        assert f.read() == committed  # a quick run never touches docs/


def test_docs_only_with_write_docs_and_never_for_smoke_runs(tmp_path, capsys):
    data = _photos(str(tmp_path / "train"), 2, 0)
    val = _photos(str(tmp_path / "val"), 2, 3)
    common = ["--data", data, "--val-data", val]
    assert script.main(["--quick", "--write-docs", *common]) == 2
    assert "--quick never writes docs/" in capsys.readouterr().err
    assert script.main(["--steps", "100", "--write-docs", *common]) == 2
    assert "smoke run" in capsys.readouterr().err
    assert script.main(["--study", "blocks", "--methods", "pggan-dres-global", *common]) == 2
    assert "not arms of --study blocks" in capsys.readouterr().err
    args = script.build_parser().parse_args(
        ["--study", "upsample", "--out", str(tmp_path), *common]
    )
    script.check_args(args)
    assert args.doc == os.path.join(str(tmp_path), "ablation.md")
    assert args.sheets_dir == os.path.join(str(tmp_path), "ablation", "upsample")
    assert args.methods == list(ab.STUDIES["upsample"].arms)
    args = script.build_parser().parse_args(["--steps", "500", "--write-docs", *common])
    script.check_args(args)
    assert args.doc == ab.DOC and args.sheets_dir == os.path.join(
        os.path.dirname(ab.DOC), "ablation"
    )


def test_arm_configs_change_one_generator_option():
    args = script.build_parser().parse_args([])
    args.data, args.steps_per_epoch = ["a"], 100
    base = ab.arm_config("pggan-dres", args)
    for arm, override in ab.GENERATOR_ARMS.items():
        cfg = ab.arm_config(arm, args)
        assert (
            cfg.replace(name=base.name, generator={k: getattr(base.generator, k) for k in override})
            == base
        )
    assert ab.arm_config("pggan-dres-transposed", args).generator.upsample == "transposed"
    assert ab.arm_config("pggan-dres-standard", args).generator.dilation_rates == (1,) * 8


def test_merge_section_keeps_the_other_studies():
    head = "# Discriminator ablation\n\ntable\n\n"
    doc = ab.SECTIONS.merge(head, "upsample", "## Up\n\nt1\n")
    doc = ab.SECTIONS.merge(doc, "blocks", "## Blocks\n\nb1\n")
    assert doc.index("## Blocks") < doc.index("## Up")  # studies in their fixed order
    doc2 = ab.SECTIONS.merge(doc, "upsample", "## Up\n\nt2\n")
    assert "t2" in doc2 and "t1" not in doc2 and "b1" in doc2 and doc2.startswith(head.rstrip())
    assert ab.SECTIONS.merge(doc2, "discriminator", "# D2\n").startswith("# D2\n\n<!-- ablation:")
    assert ab.SECTIONS.merge(head[:-1], "discriminator", head[:-1]) == head  # alone: as before


def _scores(psnr, ssim, l1, checkerboard=None):
    return {"psnr": psnr, "ssim": ssim, "l1": l1, "checkerboard": checkerboard}


def test_claims_are_computed_from_the_numbers():
    metrics = {
        "centre": {
            "pggan-dres-standard": _scores(20, 0.70, 4),
            "pggan-dres": _scores(21, 0.71, 3),
            "pggan-dres-dilated-first": _scores(19, 0.69, 5),
        },
        "free-form": {
            "pggan-dres-standard": _scores(24, 0.80, 2),
            "pggan-dres": _scores(25, 0.81, 1.9),
            "pggan-dres-dilated-first": _scores(24, 0.80, 2),
        },
    }
    lines = ab.claim_lines("blocks", metrics, list(metrics["centre"]))
    assert lines[1].startswith("- both vs standard: better on 6 of 6 scores")
    assert lines[1].endswith(": agrees with the paper's claim.")
    assert "better on 0 of 6 scores, worse on 3: no clear ordering" in lines[2]  # 3 ties
    metrics = {
        label: {
            "pggan-dres": _scores(20, 0.7, 3, 0.9),
            "pggan-dres-transposed": _scores(20, 0.7, 3, cb),
        }
        for label, cb in (("centre", 4.2), ("free-form", 0.5))
    }
    line = ab.claim_lines("upsample", metrics, ["pggan-dres", "pggan-dres-transposed"])[1]
    assert "checkerboard 0.90 vs 4.20 (centre), 0.90 vs 0.50 (free-form)" in line
    assert "lower on 1 of 2 mask sets: no clear ordering" in line
    ranking = ab.ranking_lines("upsample", metrics, ["pggan-dres", "pggan-dres-transposed"])
    assert "- centre checkerboard (least first): bilinear > transposed" in ranking
    assert "- free-form checkerboard (least first): transposed > bilinear" in ranking
