"""The model in the browser: LiteRT.js in headless Chromium against Python LiteRT, same machine.

Example:
    python -m bench.web                                  # shipped model, int8, 256² and 512²
    python -m bench.web --sizes 256 --repeats 3 --out /tmp/bench_web
    python -m bench.web --write-results                  # refresh bench/results/web.md

For each size, ``python -m keras_pggan.export web`` writes a build (the model at that fixed size)
and the page runs it in Debian's Chromium (headless, driven by Playwright; nothing downloads a
browser): ms per model call (median of ``--repeats`` after a warm-up; the page's
``engine.benchmark``: tensors in, output read back) with

- ``wasm`` single-threaded (the default build; a plain static server),
- ``wasm`` threaded (the same folder served with COOP/COEP headers, so the page is cross-origin
  isolated and LiteRT.js loads its threaded build),
- ``webgpu`` when the browser has it (Chromium started without ``--disable-gpu``; the row says
  why when it has not),

beside Python LiteRT (``ai_edge_litert``) on the same ``.tflite`` in the same run, with 1 thread
(against the single-threaded page) and all cores (against the threaded page), and the page's
start-up: LiteRT.js runtime load and model load + compile, and what the browser downloads.
Needs ``npm ci`` (the LiteRT.js runtime) and Chromium. Writes ``<out>/<name>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

from bench.common import add_output_args, report_prefix_or_none

TIMEOUT_MS = 600_000


def _python_litert_ms(model_file: str, size: int, threads: int, repeats: int) -> float:
    import numpy as np

    from bench.common import median_ms
    from keras_pggan.inference.backends import TFLiteInpainter

    runner = TFLiteInpainter(model_file, num_threads=threads)
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(1, size, size, 3)).astype(np.float32)
    mask = np.zeros((1, size, size, 1), np.float32)
    mask[:, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
    return median_ms(lambda: runner.run_padded(image, mask), repeats)


ADAPTER_JS = """async () => {
  if (!navigator.gpu) return null;
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return null;
  const info = adapter.info || {};
  return {vendor: info.vendor || "", architecture: info.architecture || "",
          description: info.description || "",
          fallback: Boolean(adapter.isFallbackAdapter || info.isFallbackAdapter)};
}"""


def _software_adapter(adapter: dict) -> bool:
    """Whether a WebGPU adapter is a CPU emulation (SwiftShader), not a GPU."""
    text = " ".join(str(adapter.get(k, "")) for k in ("vendor", "architecture", "description"))
    return bool(adapter.get("fallback")) or "swiftshader" in text.lower()


def _page_ms(browser, url: str, repeats: int, accelerator: str = "wasm") -> dict:
    """Opens the build's page, waits for its engine, and times the model in the page."""
    import numpy as np

    page = browser.new_page()
    try:
        if accelerator == "webgpu":
            page.goto(url + "/manifest.json", timeout=TIMEOUT_MS)
            adapter = page.evaluate(ADAPTER_JS)
            if adapter is None:
                return {"error": "no WebGPU adapter in this browser (not timed)"}
            if _software_adapter(adapter):
                return {"error": f"WebGPU is a software adapter here ({adapter}): not timed"}
        suffix = "?accelerator=webgpu" if accelerator == "webgpu" else ""
        start = time.perf_counter()
        page.goto(url + "/" + suffix, wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_selector("body[data-ready='1']", timeout=TIMEOUT_MS)
        ready_s = time.perf_counter() - start
        if page.is_visible("#error"):
            return {"error": page.inner_text("#error-text")}
        engine = page.evaluate(
            "async () => { const e = await window.studio.ensureEngine();"
            " return {accelerator: e.accelerator, threaded: e.threaded, build: e.build,"
            " startup: e.startup, isolated: crossOriginIsolated,"
            " threads: navigator.hardwareConcurrency}; }"
        )
        times = page.evaluate(
            f"async () => (await window.studio.ensureEngine()).benchmark({int(repeats)}, 1)"
        )
        return {
            **engine,
            "ms": float(np.median(times)),
            "times_ms": [round(t, 1) for t in times],
            "page_ready_s": round(ready_s, 2),
        }
    finally:
        page.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.web", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="pggan_dres", help="generator file or shipped model name")
    p.add_argument("--mode", default="int8", help="TFLite build (int8, fp32, fp16, dynamic)")
    p.add_argument("--sizes", default="256,512", help="comma list of model sizes (px)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per case (median)")
    p.add_argument("--num-calibration", type=int, default=8, help="int8 calibration samples")
    p.add_argument(
        "--no-webgpu", action="store_true", help="skip the WebGPU row (no GPU browser started)"
    )
    add_output_args(p, "web")
    args = p.parse_args(argv)
    prefix = report_prefix_or_none(args)  # before any measuring: a refusal comes first
    if prefix is None:
        return 2
    from keras_pggan.testing import browser as browser_lib

    reason = browser_lib.missing_reason()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    sizes = [int(s) for s in args.sizes.split(",") if s]
    cores = os.cpu_count() or 1
    work = tempfile.mkdtemp(prefix="bench_web_")
    try:
        return _measure(args, prefix, sizes, cores, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(args, prefix: str, sizes: list[int], cores: int, work: str) -> int:
    from bench.common import machine_facts, write_report
    from keras_pggan.errors import UserError
    from keras_pggan.export.web import StaticServer, export_web
    from keras_pggan.testing import browser as browser_lib

    rows, results = [], {}
    gpu_args = [a for a in browser_lib.CHROMIUM_ARGS if a != "--disable-gpu"]
    gpu_args += ["--enable-unsafe-webgpu", "--enable-features=Vulkan"]
    for size in sizes:
        folder = os.path.join(work, f"s{size}")
        print(f"[bench.web] exporting {args.model} {args.mode} at {size}² …", flush=True)
        try:
            manifest = export_web(
                args.model,
                folder,
                mode=args.mode,
                size=size,
                num_calibration=args.num_calibration,
            )
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        model_file = os.path.join(folder, manifest["model"]["file"])
        py1 = _python_litert_ms(model_file, size, 1, args.repeats)
        pyn = _python_litert_ms(model_file, size, cores, args.repeats)
        cases = {}
        with browser_lib.open_browser() as browser:
            with StaticServer(folder) as server:
                cases["wasm"] = _page_ms(browser, server.url, args.repeats)
            with StaticServer(folder, isolated=True) as server:
                cases["wasm threaded"] = _page_ms(browser, server.url, args.repeats)
        if not args.no_webgpu:
            with browser_lib.open_browser(args=gpu_args) as browser, StaticServer(folder) as server:
                cases["webgpu"] = _page_ms(browser, server.url, args.repeats, "webgpu")
        downloads = manifest["downloads"]
        results[str(size)] = {
            "python_litert_ms": {"1": py1, str(cores): pyn},
            "page": cases,
            "downloads": downloads,
            "model_bytes": manifest["files"][manifest["model"]["file"]]["bytes"],
        }
        for label, case in cases.items():
            if "error" in case:
                rows.append([f"{size}²", label, "—", "—", "—", "—", case["error"]])
                continue
            threaded = case["threaded"]
            python = pyn if threaded else py1
            threads = cores if threaded else 1
            startup = case["startup"]
            rows.append(
                [
                    f"{size}²",
                    f"{label} ({case['build']})",
                    f"{case['ms']:.0f}",
                    f"{python:.0f} ({threads} thr)",
                    f"{case['ms'] / python:.2f}×",
                    f"{startup['runtimeMs']:.0f} + {startup['modelMs']:.0f}",
                    f"{downloads['threaded' if threaded else 'single_thread'] / 1e6:.1f}",
                ]
            )
        print(f"[bench.web] {size}²: {results[str(size)]}", flush=True)
    facts = machine_facts()
    facts["chromium"] = browser_lib.chromium_path()
    write_report(
        prefix,
        "The model in the browser (LiteRT.js) vs Python LiteRT",
        [
            "size",
            "page runtime (build)",
            "page ms / call",
            "Python LiteRT ms",
            "page / Python",
            "start-up ms (runtime + model)",
            "download MB",
        ],
        rows,
        facts,
        notes=[
            f"Model: {args.model}, {args.mode} build with float inputs/outputs; median of "
            f"{args.repeats} calls after one warm-up, same machine, same run.",
            "The page's ms include copying the input tensors in and the output out.",
            "Start-up: LiteRT.js runtime (WebAssembly fetch + compile) + model fetch + compile, "
            "measured in the page. Download: what the browser fetches for the page "
            "(one WebAssembly build).",
        ],
        extra={"results": results},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
