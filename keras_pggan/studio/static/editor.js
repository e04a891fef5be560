// keras_pggan studio: paint a hole mask over a photo and fill it with the model.
//
// The mask canvas has the photo's natural pixel size (CSS only scales it on screen). Strokes are
// kept as vectors, so undo/redo replays them exactly. The mask sent to the server is an opaque
// PNG, black = keep, white = hole: a transparent export would be read as holes by the project's
// mask convention (transparent pixels = hole). Every request goes to this page's own server.
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
  };
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
    redone: [],
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
      const panels = state.telea && el.telea.checked ? 2 : 1;
      const [w, h] = fit(width, height, (bw - 16 * (panels - 1)) / panels, bh - 60);
      for (const img of [el.afterImg, el.teleaImg]) {
        img.style.width = `${w}px`;
        img.style.height = `${h}px`;
      }
    }
  }
  window.addEventListener("resize", layout);

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
    el.undo.disabled = !state.strokes.length;
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
    state.drawing = null;
    state.redone = [];
    redrawMask(); // one clean pass (incremental segments overlap at joints)
    setStatus(describeSource());
  }
  el.maskCanvas.addEventListener("pointerup", endStroke);
  el.maskCanvas.addEventListener("pointercancel", endStroke);
  el.maskCanvas.addEventListener("pointerleave", () => { el.cursor.hidden = true; });

  function undo() {
    if (state.busy || !state.strokes.length) return;
    state.redone.push(state.strokes.pop());
    redrawMask();
    setStatus(describeSource());
  }
  function redo() {
    if (state.busy || !state.redone.length) return;
    state.strokes.push(state.redone.pop());
    redrawMask();
    setStatus(describeSource());
  }
  function clearMask() {
    if (state.busy || !state.strokes.length) return;
    state.redone = state.strokes.reverse();
    state.strokes = [];
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

  // The mask as the server reads it: opaque, black = keep, white = hole (alpha >= 128 painted).
  function maskBlob() {
    const { width, height } = el.maskCanvas;
    const painted = maskCtx.getImageData(0, 0, width, height).data;
    const out = document.createElement("canvas");
    out.width = width;
    out.height = height;
    const octx = out.getContext("2d");
    const image = octx.createImageData(width, height);
    const px = image.data;
    for (let i = 0; i < px.length; i += 4) {
      const v = painted[i + 3] >= 128 ? 255 : 0;
      px[i] = px[i + 1] = px[i + 2] = v;
      px[i + 3] = 255;
    }
    octx.putImageData(image, 0, 0);
    return new Promise((resolve) => out.toBlob(resolve, "image/png"));
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

  async function edit(image, keepStrokes) {
    const img = await loadImage(image.url);
    state.source = image;
    el.imageCanvas.width = el.maskCanvas.width = image.width;
    el.imageCanvas.height = el.maskCanvas.height = image.height;
    el.imageCanvas.getContext("2d").drawImage(img, 0, 0);
    if (!keepStrokes) {
      state.strokes = [];
      state.redone = [];
    }
    redrawMask();
    setView("edit");
  }

  async function openFile(file) {
    if (!file || state.busy) return;
    clearError();
    showWarning("");
    const limit = state.info ? state.info.max_upload_bytes : Infinity;
    if (file.size > limit) {
      showError(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB, more than the upload ` +
        `limit of ${(limit / 1e6).toFixed(1)} MB: use a smaller file.`);
      return;
    }
    const form = new FormData();
    form.append("image", file, file.name);
    setBusy("Opening…");
    try {
      const image = await request("/api/images", { method: "POST", body: form });
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

  async function runMethod(method, mask) {
    const form = new FormData();
    form.append("image_id", state.source.id);
    form.append("mask", mask, "mask.png");
    form.append("method", method);
    return request("/api/inpaint", { method: "POST", body: form });
  }

  async function inpaint() {
    if (state.busy || !state.source || state.view !== "edit") return;
    if (!state.strokes.length) {
      showError("Paint over what should be removed first (the mask is empty).");
      return;
    }
    clearError();
    showWarning("");
    const withTelea = el.telea.checked && state.info && state.info.telea;
    setBusy(`Inpainting with ${state.info ? state.info.model : "the model"}…`);
    try {
      const mask = await maskBlob();
      state.lastMask = mask;
      const jobs = [runMethod("model", mask)];
      if (withTelea) jobs.push(runMethod("telea", mask));
      const [result, telea] = await Promise.all(jobs);
      state.result = result;
      state.telea = telea || null;
      await Promise.all([loadImage(result.url), loadImage(state.source.url)]);
      el.afterImg.src = result.url;
      el.beforeImg.src = state.source.url;
      if (state.telea) el.teleaImg.src = state.telea.url;
      el.download.href = `${result.url}?download=1`;
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
  function describeResult() {
    const r = state.result;
    if (!r) return "";
    const crops = r.regions > 1 ? ` in ${r.regions} crops` : "";
    let text = `Inpainted ${r.width}×${r.height} px in ${r.seconds.toFixed(2)} s${crops} · ` +
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
    }
  });

  async function init() {
    setSize(state.size);
    updateButtons();
    try {
      state.info = await request("/api/info");
      el.model.textContent = `model: ${state.info.model}`;
      if (!state.info.telea) {
        el.telea.checked = false;
        el.telea.disabled = true;
        el.teleaLabel.classList.add("muted");
        el.teleaReason.textContent = state.info.telea_reason;
        el.teleaReason.hidden = false;
      }
    } catch (e) {
      showError(e.message);
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
  window.studio = {
    state,
    maskPNG: async () => blobToDataURL(await maskBlob()),
    lastMaskPNG: async () => (state.lastMask ? blobToDataURL(state.lastMask) : null),
    setSize,
    setTool,
  };
  init();
})();
