"""Documents made of sections, and how every report shows a path, a number and the machine.

docs/paper_table.md (Table 1 at 256², Table 2 at 512²) and docs/ablation.md (one section per
study) are each written by several drivers, one section each: :class:`Sections` replaces one
section and keeps the others, so no driver drops another's table.

Example:
    >>> from keras_pggan.reports.document import Sections
    >>> doc = Sections("ablation", ("discriminator", "blocks"), "discriminator")
    >>> doc.merge("# Head\\n", "blocks", "## Blocks")
    '# Head\\n\\n<!-- ablation:blocks -->\\n## Blocks\\n<!-- /ablation:blocks -->\\n'
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform

from keras_pggan.io_utils import SHIPPED_MODELS_DIR, write_text_atomic

# The repository (saved_models/ sits in it): documents show paths relative to it, and runs
# record paths relative to where they ran, the repository root.
REPO = os.path.dirname(SHIPPED_MODELS_DIR)


@dataclasses.dataclass(frozen=True)
class Sections:
    """The sections of one document.

    Section ``head`` is the document's head: everything before the first marked section. The
    others sit between :meth:`markers` comments (invisible when rendered), in ``names`` order.

    Attributes:
        prefix: the markers' prefix (``"ablation"``, ``"paper_table"``).
        names: every section's name, in document order (``head`` may be among them).
        head: the unmarked section's name.
    """

    prefix: str
    names: tuple[str, ...]
    head: str

    def markers(self, name: str) -> tuple[str, str]:
        """The HTML comments around section ``name``."""
        return f"<!-- {self.prefix}:{name} -->", f"<!-- /{self.prefix}:{name} -->"

    def merge(self, existing: str | None, name: str, text: str) -> str:
        """The document with section ``name`` replaced (or added), every other section kept.

        Args:
            existing: the document's text, or ``None`` when there is none yet.
            name: the section written.
            text: its new text.
        """
        existing = existing or ""
        sections, cut = {}, len(existing)
        for other in self.names:
            begin, end = self.markers(other)
            if other != self.head and begin in existing and end in existing:
                sections[other] = existing.split(begin, 1)[1].split(end, 1)[0].strip("\n")
                cut = min(cut, existing.index(begin))
        top = text + "\n" if name == self.head else existing[:cut]
        if name != self.head:
            sections[name] = text.strip("\n")
        blocks = [
            "{0}\n{2}\n{1}\n".format(*self.markers(other), sections[other])
            for other in self.names
            if other in sections
        ]
        if not blocks:
            return top
        return (top.rstrip("\n") + "\n\n" if top.strip() else "") + "\n".join(blocks)


def write_document(
    doc: str,
    name: str,
    text: str,
    sections: Sections,
    sheets_dir: str,
    results: dict,
    evals: dict,
) -> None:
    """Writes section ``name`` of ``doc`` (the others kept) and ``sheets_dir/results.json``.

    Args:
        doc: the document's path.
        name: the section written.
        text: the section's text.
        sections: the document's sections.
        sheets_dir: where the sheets went; results.json goes next to them.
        results: what the JSON records besides the scores (meta, runs, ...); every method's
            overall scores per mask set are added as ``metrics``.
        evals: ``{mask set label: run_evaluation result}``.
    """
    existing = None
    if os.path.exists(doc):
        with open(doc, encoding="utf-8") as f:
            existing = f.read()
    write_text_atomic(doc, sections.merge(existing, name, text))
    metrics = {
        label: {m: e["methods"][m]["overall"] for m in e["methods"]} for label, e in evals.items()
    }
    write_text_atomic(
        os.path.join(sheets_dir, "results.json"),
        json.dumps({**results, "metrics": metrics}, indent=2) + "\n",
    )


def fmt(value, spec: str) -> str:
    """``spec.format(value)``, or an en dash for a missing value."""
    return "–" if value is None else spec.format(value)


def show(path: str) -> str:
    """A path as a document shows it: relative to the repository when nearby."""
    rel = os.path.relpath(os.path.abspath(path), REPO)
    return os.path.abspath(path) if rel.startswith(os.path.join("..", "..")) else rel


def run_meta(command: str, images: int) -> dict:
    """What a document says about how it was made: command, machine, versions, date."""
    import keras
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "command": command,
        "machine": f"{cpu}, {os.cpu_count()} cores",
        "versions": f"TensorFlow {tf.__version__}, Keras {keras.__version__}",
        "date": datetime.date.today().isoformat(),
        "images": images,
    }
