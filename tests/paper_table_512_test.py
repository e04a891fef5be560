"""scripts/paper_table_512.py and keras_pggan.reports.paper_table_512: Table 2 at 512²
(fine-tuned at equal budget) and its document."""

import os

from paper_table_test import _photos

from keras_pggan.reports import paper_table as pt
from keras_pggan.reports import paper_table_512 as t2
from scripts import paper_table_512 as script


def _args(tmp_path, *extra):
    data = _photos(str(tmp_path / "train"), 2, 0)
    val = _photos(str(tmp_path / "val"), 2, 1)
    args = script.build_parser().parse_args(
        ["--data", data, "--val-data", val, "--out", str(tmp_path / "runs"), *extra]
    )
    script.check_args(args)
    return args


def test_finetune_configs_share_data_masks_seed_and_budget(tmp_path):
    args = _args(tmp_path, "--size", "64", "--resize-to", "128", "--eval-size", "128")
    assert (args.finetune_size, args.finetune_resize_to, args.finetune_steps) == (512, 512, 30)
    configs = {m: t2.finetune_config(m, args) for m in pt.METHODS}
    for method, cfg in configs.items():
        base = pt.method_config(method, args)
        assert cfg.data.train == base.data.train and cfg.data.val == base.data.val
        assert cfg.mask == base.mask and cfg.train.seed == base.train.seed
        assert cfg.generator == base.generator  # the base run's generator loads into it
        assert (cfg.train.global_batch_size, cfg.train.steps_per_epoch, cfg.train.epochs) == (
            2,
            30,
            1,
        )
        if method == "ce":  # its fixed size, photos scaled like its 512² inputs
            assert (cfg.data.image_size, cfg.data.resize_to) == (64, 64)
        else:
            assert (cfg.data.image_size, cfg.data.resize_to) == (512, 512)
    assert configs["glgan"].loss.warmup_steps == 0
    # Only generators warm-start: a discriminator is built for one image size.
    base = {m: {"run_dir": f"/r/{m}", "generator_path": f"/r/{m}/generator.keras"} for m in "ab"}
    assert t2.warm("a", base) == "/r/a/generator.keras"


def test_argument_errors(tmp_path, capsys):
    data = _photos(str(tmp_path / "d"), 2, 0)
    common = ["--data", data, "--val-data", str(tmp_path / "d2"), "--out", str(tmp_path / "r")]
    os.makedirs(tmp_path / "d2")
    assert script.main([*common, "--finetune-size", "512", "--finetune-resize-to", "300"]) == 2
    assert "smaller than --finetune-size" in capsys.readouterr().err
    assert script.main([*common, "--methods", "pggan-dres-patch"]) == 2
    assert "not the ablations" in capsys.readouterr().err
    assert script.main([*common, "--quick", "--write-docs"]) == 2
    assert "never writes docs/" in capsys.readouterr().err
    assert script.main([*common, "--steps", "10", "--write-docs"]) == 2
    assert "smoke run" in capsys.readouterr().err


def test_claims_are_computed_from_the_scores():

    def s(psnr, ssim, l1):
        return {"psnr": psnr, "ssim": ssim, "l1": l1}

    metrics = {
        "centre": {
            "ce": s(20, 0.7, 4),
            "glgan": s(23, 0.9, 2),
            "pggan-res": s(21, 0.8, 3),
            "pggan-dres": s(22, 0.85, 2.5),
        },
        "free-form": {
            "ce": s(24, 0.8, 3),
            "glgan": s(26, 0.95, 1),
            "pggan-res": s(25, 0.85, 2),
            "pggan-dres": s(24, 0.85, 2),
        },
    }
    lines = t2.claim_lines(metrics, ["ce", "glgan", "pggan-res", "pggan-dres"])
    text = "\n".join(lines)
    assert (
        "- PGGAN-DRes ahead of Context Encoder: better on 5 of 6 scores, worse on 0: agrees with "
        "the paper." in text
    )
    assert (
        "- PGGAN-DRes ahead of GLGAN: better on 0 of 6 scores, worse on 6: does not agree" in text
    )
    # DRes vs Res: better on centre (3), level on free-form SSIM/L1, worse on free-form PSNR.
    assert "- PGGAN-DRes ahead of PGGAN-Res: better on 3 of 6 scores, worse on 1: mixed" in text
    assert "not tested" in "\n".join(t2.claim_lines(metrics, ["ce", "pggan-dres"]))
    metrics["centre"]["telea"] = s(22.5, 0.9, 2)
    metrics["free-form"]["telea"] = s(27, 0.9, 2)
    first = {"telea": {"kind": "baseline", "title": "OpenCV Telea"}, "ce": {"kind": "model"}}
    assert t2.telea_lines(metrics, ["ce", "pggan-res", "pggan-dres"], first) == [
        "- Best trained method's PSNR minus OpenCV Telea's: centre -0.50 dB (PGGAN-DRes), "
        "free-form -2.00 dB (PGGAN-Res)."
    ]


def test_table1_and_table2_sections_keep_each_other():
    table1 = "# The paper's comparison at equal budget\n\nTable 1\n"
    doc = pt.DOC_SECTIONS.merge(None, pt.TABLE1, table1)
    assert doc == table1 + "\n"  # alone: what paper_table.py always wrote
    doc = pt.DOC_SECTIONS.merge(doc, t2.SECTION, "## Table 2 at 512²\n\nfirst\n")
    doc = pt.DOC_SECTIONS.merge(doc, pt.TABLE1, "# New head\n\nTable 1 again")
    assert doc.startswith("# New head\n\nTable 1 again\n\n<!-- paper_table:512 -->\n")
    assert "first" in doc and "Table 1\n" not in doc
    doc = pt.DOC_SECTIONS.merge(doc, t2.SECTION, "## Table 2 at 512²\n\nsecond\n")
    assert "second" in doc and "first" not in doc and doc.startswith("# New head")
    assert doc.count("<!-- paper_table:512 -->") == doc.count("<!-- /paper_table:512 -->") == 1


# The end-to-end run (--quick over Table 1's runs) is in tests/paper_table_test.py: it reuses
# that test's trained runs instead of training the same two methods again.
