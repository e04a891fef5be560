// The model in this page: LiteRT.js runs the build's .tflite on the photo's pixels, which never
// leave the browser. The editor (editor.js) imports this module only in the on-device mode.
//
// Files are found relative to the page: manifest.json (written by
// `python -m keras_pggan.export web`), runtime/ (LiteRT.js, copied from node_modules at export
// time) and the model it names. The crops around the holes, the resizes and the padding are
// regions.js's, the twins of keras_pggan.inference (tested against each other), so the fill
// equals Python's Inpainter on the same .tflite: per crop, the model's [0,1] output rounded to
// uint8 inside the holes, the photo's own bytes everywhere else.
import { isWebGPUSupported, loadAndCompile, loadLiteRt, Tensor } from "../runtime/core/index.js";

const R = globalThis.pgganRegions;
let runtime = null; // {promise, threaded, build, ms}: LiteRT.js loads once per page

// The threaded WebAssembly build needs SharedArrayBuffer, which browsers allow only on
// cross-origin isolated pages (COOP/COEP headers); elsewhere the single-threaded build runs.
// `?threads=0` or `?threads=1` in the page's URL forces one or the other.
function wantThreads() {
  const asked = new URLSearchParams(location.search).get("threads");
  if (asked === "0" || asked === "1") return asked === "1";
  return Boolean(globalThis.crossOriginIsolated);
}

function loadRuntime(manifest, base) {
  if (runtime) return runtime.promise;
  const threaded = wantThreads();
  const start = performance.now();
  const folder = new URL(manifest.runtime.path, base).href;
  runtime = {
    threaded,
    build: threaded ? manifest.runtime.threaded_build : manifest.runtime.default_build,
    ms: null,
    promise: loadLiteRt(folder, threaded ? { threads: true } : undefined).then(
      (lib) => {
        runtime.ms = performance.now() - start;
        return lib;
      },
      (error) => {
        runtime = null;
        throw new Error(`The LiteRT.js runtime could not start (${error.message || error}).`);
      },
    ),
  };
  return runtime.promise;
}

async function webgpuProblem() {
  if (!globalThis.navigator || !navigator.gpu) {
    return "WebGPU is not available in this browser (navigator.gpu is missing): use wasm.";
  }
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter || !(await isWebGPUSupported())) {
      return "WebGPU is not available: this browser offers no GPU adapter: use wasm.";
    }
  } catch (e) {
    return `WebGPU could not start (${e.message || e}): use wasm.`;
  }
  return null;
}

async function fetchManifest(url) {
  let response;
  try {
    response = await fetch(url, { cache: "no-cache" });
  } catch (e) {
    throw new Error(`The build's ${url} could not be fetched (${e.message}).`);
  }
  if (!response.ok) {
    throw new Error(
      `No on-device build here (${url} answered ${response.status}): make one with ` +
      "`python -m keras_pggan.export web OUT/`.");
  }
  return response.json();
}

// Starts LiteRT.js and compiles the model. options: {manifestUrl, accelerator: "wasm"|"webgpu"}.
// Returns an engine: {manifest, accelerator, threaded, build, startup: {runtimeMs, modelMs},
// inpaint(rgb, holes, width, height), runModel(image01, mask01)}. Rejects with a sentence the
// page can show (no build, a runtime that does not start, a model that does not load, no WebGPU).
export async function startEngine(options = {}) {
  const manifestUrl = new URL(options.manifestUrl || "manifest.json", document.baseURI).href;
  const accelerator = options.accelerator || "wasm";
  const manifest = await fetchManifest(manifestUrl);
  if (accelerator === "webgpu") {
    const problem = await webgpuProblem();
    if (problem) throw new Error(problem);
  } else if (accelerator !== "wasm") {
    throw new Error(`Unknown accelerator ${accelerator}: use wasm or webgpu.`);
  }
  await loadRuntime(manifest, manifestUrl);
  const modelUrl = new URL(manifest.model.file, manifestUrl).href;
  const start = performance.now();
  let model;
  try {
    model = await loadAndCompile(modelUrl, { accelerator });
  } catch (e) {
    if (accelerator === "webgpu") {
      throw new Error(`WebGPU could not run the model (${e.message || e}): use wasm.`);
    }
    throw new Error(
      `The model ${manifest.model.file} could not be loaded (${e.message || e}): ` +
      "export the build again.");
  }
  const modelMs = performance.now() - start;
  const size = manifest.model.size;
  return new Engine(manifest, model, accelerator, { runtimeMs: runtime.ms, modelMs }, size);
}

class Engine {
  constructor(manifest, model, accelerator, startup, size) {
    this.manifest = manifest;
    this.model = model;
    this.accelerator = accelerator;
    this.startup = startup;
    this.size = size;
    this.threaded = runtime.threaded;
    this.build = runtime.build;
    this.runs = []; // the last inpaint's per-crop records (for tests and the status line)
  }

  // One model call on float32 [S,S,3] / [S,S,1] arrays; returns the float32 [S,S,3] output.
  async runModel(image01, mask01) {
    const s = this.size;
    const image = new Tensor(image01, [1, s, s, 3]);
    const mask = new Tensor(mask01, [1, s, s, 1]);
    let outputs;
    try {
      outputs = await this.model.run({ image, mask });
    } finally {
      image.delete();
      mask.delete();
    }
    const tensor = outputs.inpainted || Object.values(outputs)[0];
    try {
      const data = await tensor.data();
      return Float32Array.from(data);
    } finally {
      for (const t of Object.values(outputs)) t.delete();
    }
  }

  // Pads a crop to the model size, runs it, and returns its uint8 fill (input bytes outside the
  // holes), as keras_pggan.inference.backends.TFLiteInpainter and Inpainter.predict_batch do.
  async fillCrop(rgb, holes, w, h) {
    const s = this.size;
    const x = R.padSymmetric(rgb, w, h, 3, s, s);
    const m = R.padSymmetric(holes, w, h, 1, s, s);
    const image01 = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) image01[i] = x[i] / 255;
    const mask01 = Float32Array.from(m);
    const start = performance.now();
    const out = await this.runModel(image01, mask01);
    const ms = performance.now() - start;
    const fill = rgb.slice();
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        if (!holes[y * w + xx]) continue;
        for (let c = 0; c < 3; c++) {
          fill[(y * w + xx) * 3 + c] = R.toU8(out[(y * s + xx) * 3 + c]);
        }
      }
    }
    return { fill, ms };
  }

  // Inpaints a photo: RGB Uint8Array [h*w*3], holes Uint8Array [h*w] (1 = hole). Returns
  // {pixels, regions, modelMs}: the photo with every hole filled; known pixels are its own.
  async inpaint(rgb, holes, width, height) {
    const { working_size: working, context, min_context: minContext } = this.manifest.regions;
    const plan = R.planRegions(holes, width, height, working, context, minContext);
    const out = rgb.slice();
    this.runs = [];
    let modelMs = 0;
    for (const region of plan.regions) {
      const crop = R.crop(rgb, width, 3, region.top, region.left, region.height, region.width);
      const cropHoles = R.crop(holes, width, 1, region.top, region.left, region.height,
        region.width);
      const nw = region.networkWidth;
      const nh = region.networkHeight;
      const scaled = region.scale < 1;
      const x = scaled ? R.resizeU8(crop, region.width, region.height, nw, nh) : crop;
      const m = scaled ? R.shrinkHoles(cropHoles, region.width, region.height, nw, nh) : cropHoles;
      let fill = x;
      if (m.some((v) => v)) {
        const run = await this.fillCrop(x, m, nw, nh);
        fill = run.fill;
        modelMs += run.ms;
        this.runs.push({ ...region, ms: run.ms });
      }
      if (scaled) fill = R.resizeU8(fill, nw, nh, region.width, region.height);
      const own = R.ownedHoles(region, cropHoles, plan);
      for (let y = 0; y < region.height; y++) {
        for (let xx = 0; xx < region.width; xx++) {
          if (!own[y * region.width + xx]) continue;
          const to = ((region.top + y) * width + region.left + xx) * 3;
          const from = (y * region.width + xx) * 3;
          out[to] = fill[from];
          out[to + 1] = fill[from + 1];
          out[to + 2] = fill[from + 2];
        }
      }
    }
    return { pixels: out, regions: plan.regions.length, modelMs };
  }

  // Milliseconds per model call on a random input of the model size (benchmarks).
  async benchmark(runs = 5, warmup = 1) {
    const s = this.size;
    const image01 = new Float32Array(s * s * 3);
    const mask01 = new Float32Array(s * s);
    for (let i = 0; i < image01.length; i++) image01[i] = ((i * 2654435761) % 1000) / 1000;
    for (let y = s / 4; y < (3 * s) / 4; y++) mask01.fill(1, y * s + s / 4, y * s + (3 * s) / 4);
    for (let i = 0; i < warmup; i++) await this.runModel(image01, mask01);
    const times = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      await this.runModel(image01, mask01);
      times.push(performance.now() - start);
    }
    return times;
  }
}
