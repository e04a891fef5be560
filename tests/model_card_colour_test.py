"""The model card's section "Where the colour goes wrong" (keras_pggan.reports.colour and
model_card) and ``python -m scripts.colour_diagnosis --from-json --write-card``: its tables carry
the diagnosis's numbers, its findings follow them, and a card without a diagnosis is unchanged."""

import copy
import json
import os
import shutil

import pytest

from keras_pggan.reports import colour, model_card
from scripts import colour_diagnosis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(ROOT, "saved_models")


def _scores(psnr, chroma, blotch):
    return {"psnr": psnr, "ssim": 0.8, "hole_chroma": chroma, "hole_blotch": blotch}


def _bands(values):
    return [
        {"band": band, "chroma": v, "pixels": 100}
        for band, v in zip(("0-8", "8-16", ">16"), values)
    ]


def _diagnosis(far_model=12.0, far_telea=6.0, large_tiled=9.8):
    """Two parts of V; the model's chroma error 2× Telea's beyond 16 px, the centre gap's CI
    above 0 and the free-form one across 0."""
    part = {
        "center": {
            "model": _scores(22.0, 6.5, 27.0),
            "telea": _scores(20.5, 5.25, 21.0),
            "blur8": _scores(22.01, 6.37, 26.9),
            "swap": _scores(22.05, 5.2, 21.0),
            "chroma_gap_ci": [1.25, 0.75, 1.5],
            "by_distance": {
                "model": _bands([4.0, 6.0, far_model]),
                "telea": _bands([3.0, 5.0, far_telea]),
            },
        },
        "freeform": {
            "model": _scores(26.0, 4.0, 12.0),
            "telea": _scores(23.25, 3.9, 13.75),
            "blur8": _scores(26.0, 4.2, 13.7),
            "swap": _scores(25.97, 3.9, 13.75),
            "chroma_gap_ci": [0.1, -0.05, 0.25],
            "by_distance": {"model": _bands([3.0, 4.0, 5.0]), "telea": _bands([3.0, 4.0, 6.0])},
        },
        "center64_at_128": {"model": _scores(23.5, 5.0, 19.0), "telea": _scores(21.5, 5.125, 20)},
        "center64_at_256": {"model": _scores(31.0, 4.5, 16.0), "telea": _scores(28.5, 4.75, 19)},
    }
    other = copy.deepcopy(part)
    other["center"]["by_distance"]["model"][-1]["chroma"] = 15.0
    other["center"]["by_distance"]["telea"][-1]["chroma"] = 10.0
    return {
        "model": "saved_models/pggan_dres.keras",
        "parts": {"facades": part, "imagenet_holdout": other},
        "large_photo": {
            "tiled_3000_at_512": _scores(24.75, large_tiled, 42.0),
            "whole_768": _scores(25.0, 9.75, 40.5),
        },
    }


def _section(text: str) -> str:
    """The rendered section, heading included, up to the next section."""
    start = text.index(model_card.COLOUR_SECTION)
    return text[start : text.index("\n## ", start + 1) + 1]


def _tables(text: str) -> dict[str, list[list[str]]]:
    """``{header line: rows of cells}`` of every markdown table in ``text``."""
    tables, head = {}, None
    for line in text.splitlines():
        if not line.startswith("|"):
            head = None
        elif head is None:
            head = line
            tables[head] = []
        elif not line.startswith("|---"):
            tables[head].append([c.strip() for c in line.strip("|").split("|")])
    return tables


def _table(text: str, first_column: str, column: str) -> dict[tuple, list[str]]:
    """The table whose header has ``column``: ``{(cell 1, cell 2): row}``."""
    (head,) = [h for h in _tables(text) if h.startswith(f"| {first_column} |") and column in h]
    return {tuple(row[:2]): row for row in _tables(text)[head]}


def _findings(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


@pytest.fixture()
def card():
    return model_card.read_card(SHIPPED)


def test_the_section_tables_carry_the_diagnosis_numbers(card):
    diag = _diagnosis()
    section = _section(model_card.render_model_card({**card, "colour_diagnosis": diag}))
    gaps = _table(section, "part", "model − Telea chroma (95 % CI)")
    for part, label in (("facades", "facades"), ("imagenet_holdout", "ImageNet hold-out")):
        for kind, title in (("center", "centre-128"), ("freeform", "free-form")):
            r = diag["parts"][part][kind]
            row = gaps[(label, title)]
            numbers = [float(x) for x in row[2:8]] + [float(x) for x in row[9:]]
            m, t = r["model"], r["telea"]
            expected = [m["psnr"], m["hole_chroma"], m["hole_blotch"], t["psnr"]]
            expected += [t["hole_chroma"], t["hole_blotch"], r["blur8"]["hole_chroma"]]
            assert numbers == pytest.approx(expected + [r["swap"]["psnr"]], abs=0.051)
            d, low, high = r["chroma_gap_ci"]
            assert row[8] == f"{d:+.2f} ({low:+.2f}, {high:+.2f})"
    distance = _table(section, "part", "| >16 px |")
    assert distance[("facades", "model")][2:] == ["4.00", "6.00", "12.00"]
    assert distance[("facades", "Telea")][2:] == ["3.00", "5.00", "6.00"]
    assert distance[("ImageNet hold-out", "model ÷ Telea")][2:] == ["1.33×", "1.20×", "1.50×"]
    scale = _table(section, "part", "hole, view")
    assert scale[("facades", "128-px hole, 256² view")][2:] == [
        "22.00", "6.50", "20.50", "5.25", "+1.25",
    ]  # fmt: skip
    assert scale[("facades", "64-px hole, 128² view")][-1] == "-0.12"
    assert scale[("facades", "64-px hole, 256² view")][-1] == "-0.25"
    large = _tables(section)["| path | PSNR dB | SSIM | chroma | blotch % |"]
    assert [row[3] for row in large] == ["9.80", "9.75"]


def test_the_findings_follow_the_numbers(card):
    def findings(**kw):
        text = model_card.render_model_card({**card, "colour_diagnosis": _diagnosis(**kw)})
        return _findings(_section(text))

    base = findings()
    far = [f for f in base if "beyond 16 px from the edge the model's chroma error" in f]
    assert far[0].endswith("beyond 16 px from the edge the model's chroma error is 2.0× Telea's.")
    assert far[1].endswith("is 1.5× Telea's.")  # 15 / 10 on the second part
    changed = findings(far_model=9.0, far_telea=6.0)
    assert [f for f in changed if f.startswith("On facades")][0].endswith("is 1.5× Telea's.")
    centre, free = base[0], base[1]
    assert "(+1.25, 95 % CI +0.75 to +1.50: larger)" in centre
    assert "(+0.10, 95 % CI -0.05 to +0.25: no clear difference)" in free
    blur = [f for f in base if f.startswith("Blurring")][0]
    assert "by -2 % to +5 %: the wrong hues are low-frequency patches" in blur
    swap = [f for f in base if f.startswith("Telea's chroma")][0]
    assert "by -0.03 to +0.05 dB: PSNR barely sees the chroma gap" in swap
    scale = [f for f in base if f.startswith("Model − Telea")][0]
    assert scale.endswith("with 64-px holes it is at most half the 128-px one at both scales.")
    diag = _diagnosis()
    diag["parts"]["facades"]["center64_at_256"]["model"]["hole_chroma"] = 6.0  # gap +1.25
    scale = [f for f in colour.diagnosis_findings(diag) if f.startswith("Model − Telea")][0]
    assert "+1.25 (64-px hole, 256² view)" in scale
    assert scale.endswith("64-px holes do not halve the gap: hole size alone does not explain it.")
    for e in diag["parts"].values():  # the model at or below Telea at every size and scale
        for probe in colour.SCALE_PROBES:
            e[probe]["model"]["hole_chroma"] = e[probe]["telea"]["hole_chroma"] - 0.1
    scale = [f for f in colour.diagnosis_findings(diag) if f.startswith("Model − Telea")][0]
    assert "-0.10 (128-px hole, 256² view)" in scale
    assert scale.endswith("at or below Telea's at every hole size and scale.")
    assert "not where the colour goes wrong" in [f for f in base if "3000 px" in f][0]
    moved = [f for f in findings(large_tiled=11.0) if "3000 px" in f][0]
    assert "(+1.25): the working-size path changes the colour." in moved


def test_a_card_without_a_diagnosis_renders_as_before(card):
    """The section only adds: without it the card renders as cards did before issue 35."""
    committed = open(os.path.join(SHIPPED, model_card.CARD_MD), encoding="utf-8").read()
    assert model_card.render_model_card(card) == committed
    bare = {k: v for k, v in card.items() if k != "colour_diagnosis"}
    without = model_card.render_model_card(bare)
    assert model_card.COLOUR_SECTION not in without
    if "colour_diagnosis" in card:  # the shipped card carries one: removing it removes only it
        assert committed.replace(_section(committed), "") == without
    with_it = model_card.render_model_card({**bare, "colour_diagnosis": _diagnosis()})
    section = _section(with_it)
    assert with_it.replace(section, "") == without
    assert with_it.index(section) > with_it.index("### ImageNet hold-out")  # after the V tables


def test_the_script_report_is_the_card_section(tmp_path, capsys):
    diag = _diagnosis()
    path = tmp_path / "colour_diagnosis.json"
    path.write_text(json.dumps(diag))
    assert colour_diagnosis.main(["--from-json", str(path)]) == 0
    report = capsys.readouterr().out
    section = _section(
        model_card.render_model_card({**model_card.read_card(SHIPPED), "colour_diagnosis": diag})
    )
    body = section.split("\n", 2)[2]  # below the heading
    assert report.startswith("# Colour diagnosis")
    assert report.split("\n", 2)[2].rstrip("\n") == body.rstrip("\n")


@pytest.fixture()
def card_copy(tmp_path):
    folder = tmp_path / "saved_models"
    folder.mkdir()
    for name in (model_card.CARD_JSON, model_card.CARD_MD):
        shutil.copyfile(os.path.join(SHIPPED, name), folder / name)
    return folder


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_write_card_needs_overwrite_and_keeps_the_card(card_copy, tmp_path, capsys):
    before = _files(card_copy)
    original = model_card.read_card(str(card_copy))
    path = tmp_path / "colour_diagnosis.json"
    path.write_text(json.dumps(_diagnosis()))
    argv = ["--from-json", str(path), "--write-card", str(card_copy)]
    assert colour_diagnosis.main(argv) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert _files(card_copy) == before

    assert colour_diagnosis.main([*argv, "--overwrite"]) == 0
    card = model_card.read_card(str(card_copy))
    assert card["colour_diagnosis"] == _diagnosis()
    others = {k: v for k, v in original.items() if k != "colour_diagnosis"}
    assert {k: v for k, v in card.items() if k != "colour_diagnosis"} == others
    md = (card_copy / model_card.CARD_MD).read_text(encoding="utf-8")
    assert md == model_card.render_model_card(card)
    assert "is 2.0× Telea's" in _section(md)

    assert colour_diagnosis.main(["--from-json", str(path), "--write-card", str(tmp_path)]) == 2
    assert "no model_card.json in" in capsys.readouterr().err


def test_write_card_refuses_a_diagnosis_of_another_model(card_copy, tmp_path, capsys):
    (card_copy / "pggan_dres.keras").write_bytes(b"the shipped weights")
    path = tmp_path / "colour_diagnosis.json"
    argv = ["--from-json", str(path), "--write-card", str(card_copy), "--overwrite"]
    before = _files(card_copy)
    for diag, why in (
        ({**_diagnosis(), "model_sha256": "0" * 64}, "rerun it on the card's model"),
        ({**_diagnosis(), "model": "runs/other.keras"}, "not of the card's pggan_dres.keras"),
    ):
        path.write_text(json.dumps(diag))
        assert colour_diagnosis.main(argv) == 2
        assert why in capsys.readouterr().err
        assert _files(card_copy) == before
    sha = colour.file_sha256(str(card_copy / "pggan_dres.keras"))
    path.write_text(json.dumps({**_diagnosis(), "model_sha256": sha}))
    assert colour_diagnosis.main(argv) == 0
    assert model_card.read_card(str(card_copy))["colour_diagnosis"]["model_sha256"] == sha
