// The page's twin of keras_pggan/inference/regions.py (and of the pixel rules around it), so the
// on-device mode crops, resizes and pastes exactly as Python's Inpainter does:
//
// - planRegions(holes, width, height, workingSize, context, minContext): the crops around each
//   cluster of holes (clusters on a minContext-pixel grid, 8-connected, numbered in raster order
//   as scipy.ndimage.label does; margins, merging, growing to the working size, downscaling);
// - ownedHoles(...): the holes a crop fills (those of its own clusters);
// - resizeU8 / shrinkHoles: Pillow's BOX (down) and BICUBIC (up) resampling, fixed point as
//   Pillow computes it for 8-bit images, and the hole mask's box cover;
// - padSymmetric: numpy's np.pad(mode="symmetric") at the bottom/right;
// - toU8: numpy's round-half-to-even of float32 values * 255 (keras_pggan.data.imageio.to_uint8).
//
// tests/web_regions_test.py runs this file in Node against the Python functions. Images here are
// RGB Uint8Arrays (3 bytes a pixel, row-major) and holes Uint8Arrays (1 = hole).
// A classic script (no modules): the browser gets `window.pgganRegions`, Node `require()`.
"use strict";

(function (root) {
  // -- Python's arithmetic -------------------------------------------------------------------
  // round() of Python and numpy: halves go to the even neighbour.
  function roundHalfEven(x) {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }
  const f32 = Math.fround;
  // keras_pggan.data.imageio.to_uint8 on one float32 value: clip to [0,1], * 255 in float32, round.
  function toU8(value) {
    const v = f32(Math.min(1, Math.max(0, f32(value))));
    return roundHalfEven(f32(v * 255));
  }

  // -- clusters and regions (keras_pggan.inference.regions) --------------------------------------
  // Labels the blocks of a hole mask: 8-connected, numbered 1.. in raster order of first block.
  function holeClusters(holes, width, height, block) {
    const gw = Math.ceil(width / block);
    const gh = Math.ceil(height / block);
    const grid = new Uint8Array(gw * gh);
    for (let y = 0; y < height; y++) {
      const row = (Math.floor(y / block)) * gw;
      for (let x = 0; x < width; x++) {
        if (holes[y * width + x]) grid[row + Math.floor(x / block)] = 1;
      }
    }
    const labels = new Int32Array(gw * gh);
    let n = 0;
    const stack = [];
    for (let i = 0; i < grid.length; i++) {
      if (!grid[i] || labels[i]) continue;
      labels[i] = ++n;
      stack.push(i);
      while (stack.length) {
        const j = stack.pop();
        const gy = Math.floor(j / gw);
        const gx = j - gy * gw;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = gy + dy;
            const xx = gx + dx;
            if (yy < 0 || yy >= gh || xx < 0 || xx >= gw) continue;
            const k = yy * gw + xx;
            if (grid[k] && !labels[k]) {
              labels[k] = n;
              stack.push(k);
            }
          }
        }
      }
    }
    return { labels, gw, gh, n };
  }

  function clusterBoxes(holes, width, height, grid, block, context, minContext) {
    const { labels, gw, n } = grid;
    const boxes = [];
    for (let c = 1; c <= n; c++) {
      let top = Infinity;
      let left = Infinity;
      let bottom = -1;
      let right = -1;
      for (let i = 0; i < labels.length; i++) {
        if (labels[i] !== c) continue;
        const gy = Math.floor(i / gw);
        const gx = i - gy * gw;
        const y1 = Math.min(height, (gy + 1) * block);
        const x1 = Math.min(width, (gx + 1) * block);
        for (let y = gy * block; y < y1; y++) {
          for (let x = gx * block; x < x1; x++) {
            if (!holes[y * width + x]) continue;
            if (y < top) top = y;
            if (y + 1 > bottom) bottom = y + 1;
            if (x < left) left = x;
            if (x + 1 > right) right = x + 1;
          }
        }
      }
      const margin = Math.max(minContext, Math.ceil(context * Math.max(bottom - top, right - left)));
      boxes.push([
        Math.max(0, top - margin), Math.max(0, left - margin),
        Math.min(height, bottom + margin), Math.min(width, right + margin), new Set([c]),
      ]);
    }
    return boxes;
  }

  function mergeOverlapping(boxes) {
    let merged = true;
    while (merged) {
      merged = false;
      const out = [];
      for (const box of boxes) {
        let joined = false;
        for (const other of out) {
          if (box[0] < other[2] && other[0] < box[2] && box[1] < other[3] && other[1] < box[3]) {
            other[0] = Math.min(other[0], box[0]);
            other[1] = Math.min(other[1], box[1]);
            other[2] = Math.max(other[2], box[2]);
            other[3] = Math.max(other[3], box[3]);
            for (const c of box[4]) other[4].add(c);
            merged = true;
            joined = true;
            break;
          }
        }
        if (!joined) out.push(box);
      }
      boxes = out;
    }
    return boxes;
  }

  function grow(start, stop, target, limit) {
    const length = Math.min(target, limit);
    if (stop - start >= length) return [start, stop];
    start = Math.min(Math.max(0, Math.floor((start + stop) / 2) - Math.floor(length / 2)),
      limit - length);
    return [start, start + length];
  }

  function scaled(n, scale) {
    return scale >= 1 ? n : Math.max(1, roundHalfEven(n * scale));
  }

  // Python's plan_with_labels: {regions: [{top, left, height, width, scale, clusters,
  // networkHeight, networkWidth}], grid (null: one whole-image run)}.
  function planRegions(holes, width, height, workingSize, context, minContext) {
    let any = false;
    for (let i = 0; i < holes.length && !any; i++) any = holes[i] !== 0;
    const region = (top, left, h, w, scale, clusters) => ({
      top, left, height: h, width: w, scale, clusters,
      networkHeight: scaled(h, scale), networkWidth: scaled(w, scale),
    });
    if (!any) return { regions: [], grid: null, block: minContext };
    if (!workingSize || Math.max(width, height) <= workingSize) {
      return { regions: [region(0, 0, height, width, 1, [])], grid: null, block: minContext };
    }
    const block = Math.max(1, Math.floor(minContext));
    const grid = holeClusters(holes, width, height, block);
    const boxes = mergeOverlapping(
      clusterBoxes(holes, width, height, grid, block, context, minContext));
    const regions = boxes.map(([top, left, bottom, right, clusters]) => {
      [top, bottom] = grow(top, bottom, workingSize, height);
      [left, right] = grow(left, right, workingSize, width);
      const scale = Math.min(1, workingSize / Math.max(bottom - top, right - left));
      const ids = Array.from(clusters).sort((a, b) => a - b);
      return region(top, left, bottom - top, right - left, scale, ids);
    });
    regions.sort((a, b) => a.clusters[0] - b.clusters[0]);
    return { regions, grid, block };
  }

  // The holes of a region's crop that its run fills: 1 where the crop's hole belongs to one of
  // the region's clusters (every hole when the plan has no grid).
  function ownedHoles(region, cropHoles, plan) {
    if (!plan.grid) return cropHoles;
    const { labels, gw } = plan.grid;
    const own = new Set(region.clusters);
    const out = new Uint8Array(cropHoles.length);
    for (let y = 0; y < region.height; y++) {
      const gy = Math.floor((region.top + y) / plan.block) * gw;
      for (let x = 0; x < region.width; x++) {
        const i = y * region.width + x;
        if (cropHoles[i] && own.has(labels[gy + Math.floor((region.left + x) / plan.block)])) {
          out[i] = 1;
        }
      }
    }
    return out;
  }

  // -- crops, resizing and padding ---------------------------------------------------------------
  function crop(pixels, width, channels, top, left, h, w) {
    const out = new Uint8Array(h * w * channels);
    for (let y = 0; y < h; y++) {
      const start = ((top + y) * width + left) * channels;
      out.set(pixels.subarray(start, start + w * channels), y * w * channels);
    }
    return out;
  }

  // Pillow's filters (src/libImaging/Resample.c) and its coefficients for one axis.
  const FILTERS = {
    box: { support: 0.5, f: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
    bicubic: {
      support: 2,
      f: (x) => {
        const a = -0.5;
        if (x < 0) x = -x;
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
      },
    },
  };
  const PRECISION_BITS = 22;
  function coefficients(inSize, outSize, filter) {
    const scale = inSize / outSize;
    const filterscale = Math.max(1, scale);
    const support = filter.support * filterscale;
    const rows = [];
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      const ss = 1 / filterscale;
      const xmin = Math.max(0, Math.trunc(center - support + 0.5));
      const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
      const k = new Float64Array(Math.max(0, xmax));
      let ww = 0;
      for (let x = 0; x < xmax; x++) {
        k[x] = filter.f((x + xmin - center + 0.5) * ss);
        ww += k[x];
      }
      if (ww !== 0) for (let x = 0; x < xmax; x++) k[x] /= ww;
      rows.push({ xmin, k });
    }
    return rows;
  }
  function fixedPoint(rows) {
    return rows.map(({ xmin, k }) => ({
      xmin,
      k: Int32Array.from(k, (v) => Math.trunc(v < 0 ? -0.5 + v * (1 << PRECISION_BITS)
        : 0.5 + v * (1 << PRECISION_BITS))),
    }));
  }
  function clip8(v) {
    if (v >= (1 << PRECISION_BITS) * 256) return 255;
    if (v <= 0) return 0;
    return Math.floor(v / (1 << PRECISION_BITS));
  }
  function resamplePass(src, inW, inH, outW, outH, channels, rows, horizontal) {
    const out = new Uint8Array(outW * outH * channels);
    const half = 1 << (PRECISION_BITS - 1);
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        const { xmin, k } = rows[horizontal ? x : y];
        for (let c = 0; c < channels; c++) {
          let ss = half;
          for (let i = 0; i < k.length; i++) {
            const idx = horizontal ? (y * inW + xmin + i) : ((xmin + i) * inW + x);
            ss += src[idx * channels + c] * k[i];
          }
          out[(y * outW + x) * channels + c] = clip8(ss);
        }
      }
    }
    return out;
  }
  // keras_pggan.inference.regions.resize_u8: Pillow BOX when the height shrinks, else BICUBIC.
  function resizeU8(pixels, width, height, outW, outH) {
    if (outW === width && outH === height) return pixels.slice();
    const filter = outH < height ? FILTERS.box : FILTERS.bicubic;
    let image = pixels;
    let w = width;
    if (outW !== width) {
      image = resamplePass(image, width, height, outW, height, 3,
        fixedPoint(coefficients(width, outW, filter)), true);
      w = outW;
    }
    if (outH !== height) {
      image = resamplePass(image, w, height, w, outH, 3,
        fixedPoint(coefficients(height, outH, filter)), false);
    }
    return image;
  }
  // keras_pggan.inference.regions.shrink_holes: a low-resolution pixel is a hole when any pixel
  // of its box (Pillow's BOX support, positive weights only) is.
  function shrinkHoles(holes, width, height, outW, outH) {
    const xs = coefficients(width, outW, FILTERS.box);
    const ys = coefficients(height, outH, FILTERS.box);
    const rowsWithHoles = new Uint8Array(height * outW);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < outW; x++) {
        const { xmin, k } = xs[x];
        for (let i = 0; i < k.length; i++) {
          if (k[i] > 0 && holes[y * width + xmin + i]) {
            rowsWithHoles[y * outW + x] = 1;
            break;
          }
        }
      }
    }
    const out = new Uint8Array(outW * outH);
    for (let y = 0; y < outH; y++) {
      const { xmin, k } = ys[y];
      for (let x = 0; x < outW; x++) {
        for (let i = 0; i < k.length; i++) {
          if (k[i] > 0 && rowsWithHoles[(xmin + i) * outW + x]) {
            out[y * outW + x] = 1;
            break;
          }
        }
      }
    }
    return out;
  }
  // np.pad(mode="symmetric") index: the edge pixel repeated, then mirrored, for any pad length.
  function mirror(i, n) {
    const period = 2 * n;
    const j = i % period;
    return j < n ? j : period - 1 - j;
  }
  // Pads [h,w,channels] at the bottom/right to [outH,outW,channels] as np.pad(..., "symmetric").
  function padSymmetric(pixels, width, height, channels, outW, outH) {
    const out = new Uint8Array(outW * outH * channels);
    for (let y = 0; y < outH; y++) {
      const sy = mirror(y, height);
      for (let x = 0; x < outW; x++) {
        const sx = mirror(x, width);
        for (let c = 0; c < channels; c++) {
          out[(y * outW + x) * channels + c] = pixels[(sy * width + sx) * channels + c];
        }
      }
    }
    return out;
  }

  const api = {
    roundHalfEven, toU8, holeClusters, planRegions, ownedHoles, crop, resizeU8, shrinkHoles,
    padSymmetric, mirror,
  };
  root.pgganRegions = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
