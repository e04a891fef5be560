// keras_pggan studio: paint a hole mask over a photo and fill it with the model.
//
// The mask canvas has the photo's natural pixel size (CSS only scales it on screen). Strokes are
// kept as vectors, so undo/redo replays them exactly; a clear is one undoable step. Two places
// run the model:
// - the studio's server (data-app="studio", the default there): the photo is uploaded once and
//   the mask is sent as an opaque PNG, black = keep, white = hole (a transparent export would be
//   read as holes by the project's mask convention: transparent pixels = hole);
// - this browser ("Run in this browser", and always in the static build of
//   `python -m keras_pggan.export web`, data-app="web"): ondevice.js runs the .tflite with
//   LiteRT.js on the photo's pixels, decoded here; nothing is uploaded.
// Every request goes to this page's own origin.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const el = {
    file: $("file-input"), model: $("model-name"), error: $("error"), errorText: $("error-text"),
    errorClose: $("error-close"), warning: $("warning"), brush: $("tool-brush"),
    eraser: $("tool-eraser"), size: $("brush-size"), sizeValue: $("brush-size-value"),
    undo: $("undo"), redo: $("redo"), clear: $("clear"), inpaint: $("inpaint"),
    telea: $("telea"), teleaLabel: $("telea-label"), teleaReason: $("telea-reason"),
    resultTools: $("result-tools"), useResult: $("use-result"), backToMask: $("back-to-mask"),
    download: $("download"), startOver: $("start-over"), stage: $("stage"),
    dropHint: $("drop-hint"), editor: $("editor"), editFrame: $("edit-frame"),
    imageCanvas: $("image-canvas"), maskCanvas: $("mask-canvas"), cursor: $("cursor"),
    result: $("result"), compare: $("compare"), afterImg: $("after-img"),
    beforeImg: $("before-img"), beforeClip: $("before-clip"), divider: $("divider"),
    slider: $("compare-slider"), teleaPanel: $("telea-panel"), teleaImg: $("telea-img"),
    busy: $("busy"), busyText: $("busy-text"), status: $("status"),
    onDevice: $("on-device"), deviceLabel: $("device-label"), deviceNote: $("device-note"),
    accelerator: $("accelerator"), zoomButtons: Array.from(document.querySelectorAll("[data-zoom]")),
  };
  // The static build has no server: the model always runs in this page.
  const STANDALONE = document.body.dataset.app === "web";
  const MAX_LOCAL_PIXELS = 40000000; // as the studio's --max-pixels default
  const MASK_COLOUR = "rgb(255, 36, 96)";
  const MIN_SIZE = 2;
  const MAX_SIZE = 400;

  const state = {
    info: null,
    original: null, // the opened photo: {id, width, height, url, name}
    source: null, // the image being edited (the photo or a result used as input)
    result: null, // the latest model result for `source`
    telea: null, // the latest Telea result for `source`
    strokes: [], // {erase, size, points: [[x, y], ...]} in image pixels
    past: [], // undo history: {stroke} or {cleared: [strokes]}
    redone: [], // redo history, the same actions
    mode: STANDALONE ? "device" : "server", // where the model runs
    engine: null, // ondevice.js's engine once started
    zoom: "fit", // the result's zoom: "fit" (the editor's size), 1 or 2 (photo pixels)
    drawing: null,
    tool: "brush",
    size: 40,
    busy: false,
    view: "empty", // "empty" | "edit" | "result"
    lastMask: null, // the mask PNG (Blob) of the latest inpaint request
  };

  // -- messages ---------------------------------------------------------------------------------
  function showError(message) {
    el.errorText.textContent = message;
    el.error.hidden = false;
  }
  function clearError() {
    el.error.hidden = true;
    el.errorText.textContent = "";
  }
  function showWarning(message) {
    el.warning.textContent = message || "";
    el.warning.hidden = !message;
  }
  function setStatus(text) {
    el.status.textContent = text;
  }
  function describeSource() {
    if (!state.source) return "Open a photo to start.";
    const s = state.source;
    const n = state.strokes.length;
    return `${s.name}: ${s.width}×${s.height} px · ${state.tool} ${state.size} px · ` +
      `${n} stroke${n === 1 ? "" : "s"} · paint over what should be removed, then Inpaint.`;
  }

  async function request(url, options) {
    if (STANDALONE) throw new Error("This page has no server: the model runs in this browser.");
    let response;
    try {
      response = await fetch(url, options);
    } catch (e) {
      throw new Error("The studio server did not answer (is it still running?).");
    }
    const type = response.headers.get("content-type") || "";
    const body = type.includes("application/json") ? await response.json() : null;
    if (!response.ok) {
      throw new Error((body && (body.error || body.detail && JSON.stringify(body.detail))) ||
        `The server answered ${response.status} ${response.statusText}.`);
    }
    return body;
  }

  // -- busy indicator ---------------------------------------------------------------------------
  let busyTimer = null;
  function setBusy(label) {
    state.busy = Boolean(label);
    el.busy.hidden = !label;
    for (const b of [el.inpaint, el.useResult, el.backToMask, el.startOver, el.undo, el.redo,
      el.clear]) b.disabled = state.busy;
    el.download.classList.toggle("disabled", state.busy);
    clearInterval(busyTimer);
    if (!label) return;
    const start = performance.now();
    const tick = () => {
      el.busyText.textContent = `${label} ${((performance.now() - start) / 1000).toFixed(1)} s`;
    };
    tick();
    busyTimer = setInterval(tick, 100);
  }

  // -- layout -----------------------------------------------------------------------------------
  // Small photos are shown enlarged (up to MAX_ZOOM) so they are easy to paint on.
  const MAX_ZOOM = 4;
  function fit(width, height, boxWidth, boxHeight) {
    const scale = Math.min(MAX_ZOOM, boxWidth / width, boxHeight / height);
    return [Math.max(1, Math.floor(width * scale)), Math.max(1, Math.floor(height * scale))];
  }
  function stageBox() {
    const r = el.stage.getBoundingClientRect();
    return [Math.max(50, r.width - 32), Math.max(50, r.height - 32)];
  }
  function layout() {
    if (!state.source) return;
    const [bw, bh] = stageBox();
    const { width, height } = state.source;
    if (state.view === "edit") {
      const [w, h] = fit(width, height, bw, bh);
      el.imageCanvas.style.width = `${w}px`;
      el.imageCanvas.style.height = `${h}px`;
    } else if (state.view === "result") {
      // "fit": each panel at the editor's size (a Telea panel wraps below; the stage scrolls);
      // 1 or 2: photo pixels, so artefacts are not hidden by scaling down.
      const [w, h] = state.zoom === "fit" ? fit(width, height, bw, bh - 60)
        : [width * state.zoom, height * state.zoom];
      for (const img of [el.afterImg, el.teleaImg, el.beforeImg]) {
        img.style.width = `${w}px`;
        img.style.height = `${h}px`;
      }
      el.result.classList.toggle("zoomed", state.zoom !== "fit");
      el.result.classList.toggle("pixelated", state.zoom === 2);
    }
  }
  window.addEventListener("resize", layout);
  function setZoom(zoom) {
    state.zoom = zoom === "fit" ? "fit" : Number(zoom);
    for (const b of el.zoomButtons) b.classList.toggle("active", b.dataset.zoom === String(zoom));
    layout();
  }

  function setView(view) {
    state.view = view;
    el.dropHint.hidden = view !== "empty";
    el.editor.hidden = view !== "edit";
    el.result.hidden = view !== "result";
    el.stage.classList.toggle("empty", view === "empty");
    el.resultTools.hidden = !state.result;
    el.teleaPanel.hidden = !(view === "result" && state.telea && el.telea.checked);
    updateButtons();
    layout();
    setStatus(view === "result" ? describeResult() : describeSource());
  }

  // -- mask painting ----------------------------------------------------------------------------
  const maskCtx = el.maskCanvas.getContext("2d");

  function drawStroke(ctx, stroke, from) {
    const pts = stroke.points;
    ctx.save();
    ctx.globalCompositeOperation = stroke.erase ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = MASK_COLOUR;
    ctx.lineWidth = stroke.size;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    if (pts.length === 1) {
      ctx.beginPath();
      ctx.arc(pts[0][0], pts[0][1], stroke.size / 2, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      const start = Math.max(0, (from || 0) - 1);
      ctx.beginPath();
      ctx.moveTo(pts[start][0], pts[start][1]);
      for (let i = start + 1; i < pts.length; i++) ctx.lineTo(pts[i][0], pts[i][1]);
      ctx.stroke();
    }
    ctx.restore();
  }
  function redrawMask() {
    maskCtx.clearRect(0, 0, el.maskCanvas.width, el.maskCanvas.height);
    for (const s of state.strokes) drawStroke(maskCtx, s, 0);
    updateButtons();
  }
  function updateButtons() {
    if (state.busy) return;
    el.undo.disabled = !state.past.length;
    el.redo.disabled = !state.redone.length;
    el.clear.disabled = !state.strokes.length;
    el.inpaint.disabled = !state.source || !state.strokes.length || state.view !== "edit";
    el.startOver.disabled = !state.original || (state.source === state.original &&
      !state.strokes.length && !state.result);
  }

  function imagePoint(event) {
    const r = el.maskCanvas.getBoundingClientRect();
    const x = (event.clientX - r.left) * (el.maskCanvas.width / r.width);
    const y = (event.clientY - r.top) * (el.maskCanvas.height / r.height);
    return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
  }
  function moveCursor(event) {
    const r = el.maskCanvas.getBoundingClientRect();
    const diameter = state.size * (r.width / el.maskCanvas.width);
    el.cursor.style.width = el.cursor.style.height = `${Math.max(4, diameter)}px`;
    el.cursor.style.left = `${event.clientX - r.left}px`;
    el.cursor.style.top = `${event.clientY - r.top}px`;
    el.cursor.classList.toggle("eraser", state.tool === "eraser");
    el.cursor.hidden = false;
  }

  el.maskCanvas.addEventListener("pointerdown", (event) => {
    if (state.busy || event.button !== 0 || state.view !== "edit") return;
    el.maskCanvas.setPointerCapture(event.pointerId);
    state.drawing = { erase: state.tool === "eraser", size: state.size, points: [imagePoint(event)] };
    drawStroke(maskCtx, state.drawing, 0);
    event.preventDefault();
  });
  el.maskCanvas.addEventListener("pointermove", (event) => {
    moveCursor(event);
    if (!state.drawing) return;
    const n = state.drawing.points.length;
    state.drawing.points.push(imagePoint(event));
    drawStroke(maskCtx, state.drawing, n);
  });
  function endStroke() {
    if (!state.drawing) return;
    state.strokes.push(state.drawing);
    state.past.push({ stroke: state.drawing });
    state.drawing = null;
    state.redone = [];
    redrawMask(); // one clean pass (incremental segments overlap at joints)
    setStatus(describeSource());
  }
  el.maskCanvas.addEventListener("pointerup", endStroke);
  el.maskCanvas.addEventListener("pointercancel", endStroke);
  el.maskCanvas.addEventListener("pointerleave", () => { el.cursor.hidden = true; });

  // History: a stroke, or a clear holding the strokes it removed (one step: Ctrl+Z after Clear
  // brings the whole mask back).
  function apply(action, forward) {
    if (action.stroke) {
      if (forward) state.strokes.push(action.stroke); else state.strokes.pop();
    } else {
      state.strokes = forward ? [] : action.cleared.slice();
    }
  }
  function undo() {
    if (state.busy || !state.past.length) return;
    const action = state.past.pop();
    apply(action, false);
    state.redone.push(action);
    redrawMask();
    setStatus(describeSource());
  }
  function redo() {
    if (state.busy || !state.redone.length) return;
    const action = state.redone.pop();
    apply(action, true);
    state.past.push(action);
    redrawMask();
    setStatus(describeSource());
  }
  function clearMask() {
    if (state.busy || !state.strokes.length) return;
    const action = { cleared: state.strokes.slice() };
    apply(action, true);
    state.past.push(action);
    state.redone = [];
    redrawMask();
    setStatus(describeSource());
  }
  function setTool(tool) {
    state.tool = tool;
    el.brush.classList.toggle("active", tool === "brush");
    el.eraser.classList.toggle("active", tool === "eraser");
    el.cursor.classList.toggle("eraser", tool === "eraser");
    if (state.view === "edit") setStatus(describeSource());
  }
  function setSize(size) {
    state.size = Math.max(MIN_SIZE, Math.min(MAX_SIZE, Math.round(size)));
    el.size.value = String(state.size);
    el.sizeValue.textContent = String(state.size);
    if (state.view === "edit") setStatus(describeSource());
  }

  // A new photo starts with a brush about BRUSH_SCREEN_PX wide on screen, in photo pixels.
  const BRUSH_SCREEN_PX = 30;
  function defaultBrush() {
    const shown = parseFloat(el.imageCanvas.style.width) || el.imageCanvas.width;
    return BRUSH_SCREEN_PX * (el.imageCanvas.width / shown);
  }

  // The holes: 1 where the overlay's alpha is at least 128 (a painted pixel), row-major.
  function maskHoles() {
    const { width, height } = el.maskCanvas;
    const painted = maskCtx.getImageData(0, 0, width, height).data;
    const holes = new Uint8Array(width * height);
    for (let i = 0; i < holes.length; i++) holes[i] = painted[4 * i + 3] >= 128 ? 1 : 0;
    return holes;
  }
  // The mask as the server reads it: opaque, black = keep, white = hole.
  function maskBlob(holes) {
    holes = holes || maskHoles();
    const { width, height } = el.maskCanvas;
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let i = 0; i < holes.length; i++) {
      const v = holes[i] ? 255 : 0;
      rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = v;
      rgba[4 * i + 3] = 255;
    }
    return pngBlob(rgba, width, height);
  }
  function pngBlob(rgba, width, height) {
    const out = document.createElement("canvas");
    out.width = width;
    out.height = height;
    out.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
    return new Promise((resolve) => out.toBlob(resolve, "image/png"));
  }
  function rgbToRgba(rgb) {
    const rgba = new Uint8ClampedArray((rgb.length / 3) * 4);
    for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
      rgba[j] = rgb[i];
      rgba[j + 1] = rgb[i + 1];
      rgba[j + 2] = rgb[i + 2];
      rgba[j + 3] = 255;
    }
    return rgba;
  }
  function rgbaToRgb(rgba) {
    const rgb = new Uint8Array((rgba.length / 4) * 3);
    for (let i = 0, j = 0; j < rgba.length; i += 3, j += 4) {
      rgb[i] = rgba[j];
      rgb[i + 1] = rgba[j + 1];
      rgb[i + 2] = rgba[j + 2];
    }
    return rgb;
  }

  // -- images -----------------------------------------------------------------------------------
  function loadImage(url) {
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error("The browser could not show the image."));
      img.src = url;
    });
  }

  // The exact pixels of an image shown from a URL (a server image used in the on-device mode).
  async function pixelsOf(image) {
    if (!image.rgb) {
      const img = await loadImage(image.url);
      const canvas = document.createElement("canvas");
      canvas.width = image.width;
      canvas.height = image.height;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0);
      image.rgb = rgbaToRgb(ctx.getImageData(0, 0, image.width, image.height).data);
    }
    return image.rgb;
  }
  // An image held only by this page: {id: null, width, height, url (blob:), name, rgb}.
  async function localImage(rgb, width, height, name) {
    const blob = await pngBlob(rgbToRgba(rgb), width, height);
    return { id: null, width, height, url: URL.createObjectURL(blob), name, rgb, blob };
  }
  function stem(fileName) {
    const base = (fileName || "").replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "");
    return base.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80).replace(/^[._]+|[._]+$/g, "") ||
      "photo";
  }
  // Decodes a photo in this browser (EXIF orientation applied, no colour conversion).
  async function decodeLocal(file) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, {
        imageOrientation: "from-image", premultiplyAlpha: "none", colorSpaceConversion: "none",
      });
    } catch (e) {
      throw new Error(`${file.name} is not an image this browser can read ` +
        "(PNG, JPEG, WebP, BMP or GIF).");
    }
    const { width, height } = bitmap;
    if (width * height > MAX_LOCAL_PIXELS) {
      bitmap.close();
      throw new Error(`${file.name} is ${width}x${height} = ${(width * height / 1e6).toFixed(1)} ` +
        `megapixels, more than this page's limit of ${MAX_LOCAL_PIXELS / 1e6} megapixels: ` +
        "downscale it first.");
    }
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff"; // transparent pixels on white
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    const rgb = rgbaToRgb(ctx.getImageData(0, 0, width, height).data);
    return localImage(rgb, width, height, stem(file.name));
  }

  async function edit(image, keepStrokes) {
    const img = await loadImage(image.url);
    state.source = image;
    el.imageCanvas.width = el.maskCanvas.width = image.width;
    el.imageCanvas.height = el.maskCanvas.height = image.height;
    el.imageCanvas.getContext("2d").drawImage(img, 0, 0);
    if (!keepStrokes) {
      state.strokes = [];
      state.past = [];
      state.redone = [];
    }
    redrawMask();
    setView("edit");
  }

  async function openFile(file) {
    if (!file || state.busy) return;
    clearError();
    showWarning("");
    const limit = state.info && state.mode === "server" ? state.info.max_upload_bytes : Infinity;
    if (file.size > limit) {
      showError(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB, more than the upload ` +
        `limit of ${(limit / 1e6).toFixed(1)} MB: use a smaller file.`);
      return;
    }
    setBusy("Opening…");
    try {
      // On this device the photo is decoded here and never sent anywhere.
      const image = state.mode === "device" ? await decodeLocal(file) : await upload(file);
      state.original = image;
      state.result = state.telea = null;
      setBusy(null);
      await edit(image, false);
      setSize(defaultBrush());
      setStatus(`Opened ${describeSource()}`);
    } catch (e) {
      setBusy(null);
      showError(e.message);
      updateButtons();
    }
  }

  async function upload(file, name) {
    const form = new FormData();
    form.append("image", file, name || file.name);
    return request("api/images", { method: "POST", body: form });
  }
  async function runMethod(method, mask) {
    if (!state.source.id) {
      // A photo opened on this device, inpainted on the server: the user chose the server.
      const uploaded = await upload(state.source.blob, `${state.source.name}.png`);
      state.source.id = uploaded.id;
    }
    const form = new FormData();
    form.append("image_id", state.source.id);
    form.append("mask", mask, "mask.png");
    form.append("method", method);
    return request("api/inpaint", { method: "POST", body: form });
  }

  async function inpaint() {
    if (state.busy || !state.source || state.view !== "edit") return;
    if (!state.strokes.length) {
      showError("Paint over what should be removed first (the mask is empty).");
      return;
    }
    clearError();
    showWarning("");
    const device = state.mode === "device";
    const withTelea = !device && el.telea.checked && state.info && state.info.telea;
    const where = device ? " in this browser" : "";
    setBusy(`Inpainting with ${state.info ? state.info.model : "the model"}${where}…`);
    try {
      const holes = maskHoles();
      const mask = await maskBlob(holes);
      state.lastMask = mask;
      let result;
      let telea;
      if (device) {
        result = await inpaintHere(holes);
      } else {
        const jobs = [runMethod("model", mask)];
        if (withTelea) jobs.push(runMethod("telea", mask));
        [result, telea] = await Promise.all(jobs);
        result.downloadUrl = `${result.url}?download=1`;
      }
      state.result = result;
      state.telea = telea || null;
      await Promise.all([loadImage(result.url), loadImage(state.source.url)]);
      el.afterImg.src = result.url;
      el.beforeImg.src = state.source.url;
      if (state.telea) el.teleaImg.src = state.telea.url;
      el.download.href = result.downloadUrl;
      el.download.setAttribute("download", `${result.name}.png`);
      setBusy(null);
      setView("result");
      setCompare(Number(el.slider.value));
      showWarning(result.warning);
    } catch (e) {
      setBusy(null);
      showError(e.message);
      updateButtons();
    }
  }
  // The on-device fill: the engine's crops, runs and paste-back on the photo's own pixels.
  async function inpaintHere(holes) {
    const engine = await ensureEngine();
    const source = state.source;
    const rgb = await pixelsOf(source);
    const start = performance.now();
    const run = await engine.inpaint(rgb, holes, source.width, source.height);
    const seconds = (performance.now() - start) / 1000;
    const base = source.name.replace(/-(inpainted|telea)(-\d+)?$/, "");
    const result = await localImage(run.pixels, source.width, source.height, `${base}-inpainted`);
    let painted = 0;
    for (const v of holes) painted += v;
    const ratio = painted / holes.length;
    state.lastDeviceRun = { input: rgb, holes, output: run.pixels, width: source.width,
      height: source.height, regions: run.regions, modelMs: run.modelMs, runs: engine.runs };
    return Object.assign(result, {
      method: "model", seconds, regions: run.regions, hole_ratio: ratio, downloadUrl: result.url,
      device: true, warning: ratio > 0.5 ?
        `${Math.round(100 * ratio)}% of the photo was painted as hole: the fill has little to go on.`
        : null,
    });
  }
  function describeResult() {
    const r = state.result;
    if (!r) return "";
    const crops = r.regions > 1 ? ` in ${r.regions} crops` : "";
    const where = r.device && state.engine ? ` in this browser (LiteRT.js, ` +
      `${state.engine.accelerator}${state.engine.threaded ? ", threaded" : ""})` : "";
    let text = `Inpainted ${r.width}×${r.height} px${where} in ${r.seconds.toFixed(2)} s${crops} · ` +
      `hole ${(100 * r.hole_ratio).toFixed(1)} %`;
    if (state.telea) text += ` · Telea ${state.telea.seconds.toFixed(2)} s`;
    return `${text} · drag the slider to compare, download, or keep editing.`;
  }

  function setCompare(percent) {
    el.beforeClip.style.clipPath = `inset(0 ${100 - percent}% 0 0)`;
    el.divider.style.left = `calc(${percent}% - 1px)`;
  }
  el.slider.addEventListener("input", () => setCompare(Number(el.slider.value)));
  el.compare.addEventListener("pointermove", (event) => {
    if (!(event.buttons & 1)) return;
    const r = el.compare.getBoundingClientRect();
    const percent = Math.max(0, Math.min(100, (100 * (event.clientX - r.left)) / r.width));
    el.slider.value = String(Math.round(percent));
    setCompare(percent);
  });

  async function useResult() {
    if (state.busy || !state.result) return;
    const result = state.result;
    state.result = state.telea = null;
    await edit(result, false);
    setStatus(`Editing the result: ${describeSource()}`);
  }
  function backToMask() {
    if (state.busy || !state.source) return;
    setView("edit");
  }
  async function startOver() {
    if (state.busy || !state.original) return;
    state.result = state.telea = null;
    showWarning("");
    await edit(state.original, false);
  }

  // -- wiring -----------------------------------------------------------------------------------
  el.file.addEventListener("change", () => {
    openFile(el.file.files[0]);
    el.file.value = "";
  });
  el.errorClose.addEventListener("click", clearError);
  el.brush.addEventListener("click", () => setTool("brush"));
  el.eraser.addEventListener("click", () => setTool("eraser"));
  el.size.addEventListener("input", () => setSize(Number(el.size.value)));
  el.undo.addEventListener("click", undo);
  el.redo.addEventListener("click", redo);
  el.clear.addEventListener("click", clearMask);
  el.inpaint.addEventListener("click", inpaint);
  el.useResult.addEventListener("click", useResult);
  el.backToMask.addEventListener("click", backToMask);
  el.startOver.addEventListener("click", startOver);
  el.telea.addEventListener("change", () => {
    if (state.view === "result") setView("result");
  });
  for (const b of el.zoomButtons) b.addEventListener("click", () => setZoom(b.dataset.zoom));
  el.onDevice.addEventListener("change", () => setMode(el.onDevice.checked ? "device" : "server"));
  el.accelerator.addEventListener("change", () => changeAccelerator(el.accelerator.value));

  for (const name of ["dragenter", "dragover"]) {
    el.stage.addEventListener(name, (event) => {
      event.preventDefault();
      el.stage.classList.add("dragging");
    });
  }
  el.stage.addEventListener("dragleave", () => el.stage.classList.remove("dragging"));
  el.stage.addEventListener("drop", (event) => {
    event.preventDefault();
    el.stage.classList.remove("dragging");
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) openFile(file);
  });
  document.addEventListener("paste", (event) => {
    const items = event.clipboardData ? Array.from(event.clipboardData.files) : [];
    if (items.length) openFile(items[0]);
  });

  document.addEventListener("keydown", (event) => {
    const tag = (event.target && event.target.tagName) || "";
    if (tag === "TEXTAREA" || (tag === "INPUT" && event.target.type === "text")) return;
    const key = event.key;
    const ctrl = event.ctrlKey || event.metaKey;
    if (ctrl && (key === "z" || key === "Z")) {
      event.preventDefault();
      if (event.shiftKey) redo(); else undo();
    } else if (ctrl && (key === "y" || key === "Y")) {
      event.preventDefault();
      redo();
    } else if (ctrl || event.altKey) {
      return;
    } else if (key === "[") {
      setSize(state.size <= 10 ? state.size - 1 : state.size / 1.2);
    } else if (key === "]") {
      setSize(state.size < 10 ? state.size + 1 : state.size * 1.2);
    } else if (key === "b" || key === "B") {
      setTool("brush");
    } else if (key === "e" || key === "E") {
      setTool("eraser");
    } else if (key === "c" || key === "C") {
      clearMask();
    } else if (key === "Enter" && state.view === "edit") {
      event.preventDefault();
      inpaint();
    } else if (key === "o" || key === "O") {
      el.file.click();
    } else if ((key === "r" || key === "R") && state.view === "result") {
      useResult();
    } else if ((key === "m" || key === "M") && state.view === "result") {
      backToMask();
    } else if ((key === "0" || key === "1" || key === "2") && state.view === "result") {
      setZoom(key === "0" ? "fit" : key);
    }
  });

  // -- where the model runs ------------------------------------------------------------------
  let enginePromise = null;
  function ensureEngine() {
    if (!enginePromise) {
      const accelerator = el.accelerator.value;
      enginePromise = import("./ondevice.js")
        .then((module) => module.startEngine({ manifestUrl: "manifest.json", accelerator }))
        .then((engine) => {
          state.engine = engine;
          describeDevice();
          return engine;
        }, (error) => {
          enginePromise = null;
          throw error;
        });
    }
    return enginePromise;
  }
  function describeDevice() {
    let text;
    if (state.mode !== "device") {
      text = "On the studio's server: the photo is uploaded to it (this machine by default).";
    } else {
      text = "In this browser: the photo is never uploaded; LiteRT.js runs the model here.";
      const e = state.engine;
      if (e) {
        text += ` ${e.manifest.model.name} (${e.manifest.model.mode}, ${e.size} px), ` +
          `${e.accelerator}${e.threaded ? " threaded" : ""}; started in ` +
          `${((e.startup.runtimeMs + e.startup.modelMs) / 1000).toFixed(1)} s.`;
      }
    }
    el.deviceNote.textContent = text;
    const teleaOk = state.mode === "server" && state.info && state.info.telea;
    el.telea.disabled = !teleaOk;
    if (!teleaOk) el.telea.checked = false;
    el.teleaLabel.classList.toggle("muted", !teleaOk);
    const reason = state.mode === "device" ? "Telea runs on the studio's server: off while the " +
      "model runs in this browser." : state.info && state.info.telea_reason;
    el.teleaReason.textContent = teleaOk ? "" : reason || "";
    el.teleaReason.hidden = teleaOk || !reason;
  }
  async function setMode(mode) {
    if (state.busy) return;
    clearError();
    state.mode = mode;
    el.onDevice.checked = mode === "device";
    describeDevice();
    if (mode !== "device") return;
    setBusy("Starting LiteRT.js…");
    try {
      await ensureEngine();
      setBusy(null);
    } catch (e) {
      setBusy(null);
      showError(e.message);
      if (!STANDALONE) {
        state.mode = "server";
        el.onDevice.checked = false;
        describeDevice();
      }
    }
    updateButtons();
  }
  async function changeAccelerator(accelerator) {
    if (state.busy) return;
    const previous = state.engine ? state.engine.accelerator : "wasm";
    enginePromise = null;
    state.engine = null;
    if (state.mode !== "device") return;
    setBusy(`Starting the model on ${accelerator}…`);
    try {
      await ensureEngine();
      setBusy(null);
    } catch (e) {
      setBusy(null);
      showError(e.message);
      el.accelerator.value = previous;
      enginePromise = null;
      if (previous !== accelerator) await ensureEngine().catch(() => {});
    }
    updateButtons();
  }

  async function init() {
    setSize(state.size);
    updateButtons();
    const params = new URLSearchParams(location.search);
    if (params.get("accelerator") === "webgpu") el.accelerator.value = "webgpu";
    if (STANDALONE) {
      state.info = { model: "the in-browser model", telea: false, telea_reason: null };
      el.onDevice.checked = true;
      el.onDevice.disabled = true;
      el.model.textContent = "runs in this browser · nothing is uploaded";
      describeDevice();
      try {
        await setMode("device");
        if (state.engine) state.info.model = state.engine.manifest.model.name;
      } catch (e) {
        showError(e.message);
      }
    } else {
      try {
        state.info = await request("api/info");
        el.model.textContent = `model: ${state.info.model}`;
        if (!state.info.on_device) {
          el.onDevice.disabled = true;
          el.deviceLabel.classList.add("muted");
        }
        describeDevice();
        if (!state.info.on_device) el.deviceNote.textContent = state.info.on_device_reason;
        else if (params.get("device") === "1") await setMode("device");
      } catch (e) {
        showError(e.message);
      }
    }
    document.body.dataset.ready = "1";
  }

  // A small hook for tests and scripts: the state, and the mask exactly as it is sent.
  function blobToDataURL(blob) {
    return new Promise((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.readAsDataURL(blob);
    });
  }
  function base64(bytes) {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  }
  window.studio = {
    state,
    ensureEngine,
    setMode,
    // The last on-device run: what the page decoded, the holes, and its output (base64 bytes).
    lastDeviceRun: () => {
      const r = state.lastDeviceRun;
      if (!r) return null;
      return { width: r.width, height: r.height, regions: r.regions, modelMs: r.modelMs,
        runs: r.runs, input: base64(r.input), holes: base64(r.holes), output: base64(r.output) };
    },
    maskPNG: async () => blobToDataURL(await maskBlob()),
    lastMaskPNG: async () => (state.lastMask ? blobToDataURL(state.lastMask) : null),
    setSize,
    setTool,
  };
  init();
})();
