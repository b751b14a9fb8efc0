// The "Train in this browser" panel. The trainer is the library compiled to WebAssembly: the
// GPU engine and its WGSL kernels on this browser's WebGPU, the preset's recipe, the order of
// each round, the pictures and the model file all come from Rust. This file fetches the files,
// asks for one round after another, and puts what comes back on the page.
// The trainer's module is imported at the end, dynamically: without a web build its 404 would
// stop a static import, and this whole panel with it.
let init = null;
let Gpu = null;
let Trainer = null;

const panel = document.getElementById("train");
const statusLine = document.getElementById("train-status");
const startButton = document.getElementById("train-start");
const stopButton = document.getElementById("train-stop");
const presetChoice = document.getElementById("train-preset");
const download = document.getElementById("train-download");
const rows = document.querySelector("#train-rounds tbody");
const curve = document.getElementById("train-curve");
const weights = document.getElementById("train-weights");
const activations = document.getElementById("train-activations");
const benchButton = document.getElementById("bench-run");
const benchOut = document.getElementById("bench-out");

// ?preset=fast&images=5000&rounds=1&seed=42&autostart (and bench-images=N): a run chosen by
// its address.
const params = new URLSearchParams(location.search);
const whole = (name, fallback) => {
  const value = Number(params.get(name) ?? fallback);
  return Number.isInteger(value) && value >= 0 ? value : fallback;
};
const options = {
  images: whole("images", 0),
  rounds: whole("rounds", 0),
  seed: whole("seed", 42),
  benchImages: whole("bench-images", 60000) || 60000,
};
if (params.get("preset")) presetChoice.value = params.get("preset");

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
// The menu tells the rounds the address chose, not each recipe's own.
if (options.rounds > 0) {
  for (const option of presetChoice.options) {
    option.textContent = option.textContent.replace(/\d+ rounds?$/, plural(options.rounds, "round"));
  }
}

// What the page has done, for people and for tests: its state, each round's figures, the
// adapter, the model's download address, and when (ms after the page's start) the files and
// the GPU were ready, the trainer was built and the first in-tab prediction came.
const training = { state: "idle", records: [], adapter: null, model: null, error: null };
window.mnistTraining = training;

let wasm = null;
let gpu = null;
let trainer = null;
let stopRequested = false;

function setState(state, text) {
  training.state = state;
  panel.dataset.state = state;
  if (text) statusLine.textContent = text;
  const busy = state === "loading" || state === "training" || state === "benchmarking";
  const unable = state === "unsupported" || state === "unbuilt";
  startButton.disabled = busy || unable;
  benchButton.disabled = busy || unable;
  stopButton.disabled = state !== "training";
}

async function openGpu() {
  wasm ??= init();
  await wasm;
  gpu ??= await Gpu.open(adapterName);
  training.adapter = gpu.adapter();
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) {
    let why = `HTTP ${response.status}`;
    try { why = (await response.json()).error || why; } catch { /* not JSON */ }
    throw new Error(`cannot fetch ${url}: ${why}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function fetchData() {
  const listing = JSON.parse(new TextDecoder().decode(await fetchBytes("data/files.json")));
  return Promise.all(listing.files.map(fetchBytes));
}

// `zoom` enlarges the picture on the page (its labels are drawn into its pixels).
function drawPicture(canvas, picture, zoom = 1) {
  canvas.width = picture.width;
  canvas.height = picture.height;
  canvas.style.width = `${picture.width * zoom}px`;
  const image = new ImageData(new Uint8ClampedArray(picture.rgba()), picture.width, picture.height);
  canvas.getContext("2d").putImageData(image, 0, 0);
  picture.free();
}

function addRow(r) {
  const tr = document.createElement("tr");
  for (const text of [r.round, r.cost.toFixed(6), `${r.test_accuracy.toFixed(2)}%`, r.seconds.toFixed(2)]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
  }
  rows.appendChild(tr);
}

// The accuracy scale: whole tens around the data (or fives when it spans little), so a 44.7%
// round sits inside the chart rather than on its floor.
function accuracyScale(values) {
  const low = Math.min(...values), high = Math.max(...values);
  const step = high - low > 10 ? 10 : 5;
  let bottom = Math.max(0, Math.floor(low / step) * step);
  let top = Math.min(100, Math.ceil(high / step) * step);
  if (top - bottom < step) {
    if (top < 100) top = Math.min(100, bottom + step); else bottom = top - step;
  }
  return [bottom, top];
}

// Cost (blue, left scale from 0) and test accuracy (orange, scale fitted to the data) per round.
// The canvas is drawn at its displayed size times the screen's pixel ratio, so its 12 px
// labels stay 12 px however wide the page is.
function drawCurve() {
  const shown = curve.getBoundingClientRect().width || 400;
  const ratio = window.devicePixelRatio || 1;
  curve.width = Math.round(shown * ratio);
  curve.height = Math.round(shown * 0.45 * ratio);
  const ctx = curve.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  const width = shown, height = shown * 0.45;
  const pad = 30;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = "#ccc";
  ctx.strokeRect(pad, 10, width - 2 * pad, height - pad - 10);
  const records = training.records;
  if (records.length === 0) return;
  const rounds = Math.max(records[0].rounds, records.length);
  const x = (round) => pad + (width - 2 * pad) * (rounds === 1 ? 1 : (round - 1) / (rounds - 1));
  const maxCost = Math.max(...records.map((r) => r.cost));
  const [bottom, top] = accuracyScale(records.map((r) => r.test_accuracy));
  training.accuracyScale = [bottom, top];
  const series = [
    ["#1f5fbf", (r) => r.cost / maxCost],
    ["#d9540f", (r) => (r.test_accuracy - bottom) / (top - bottom)],
  ];
  for (const [colour, value] of series) {
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.beginPath();
    records.forEach((r, i) => {
      const y = height - pad - (height - pad - 10) * value(r);
      if (i === 0) ctx.moveTo(x(r.round), y); else ctx.lineTo(x(r.round), y);
      ctx.fillRect(x(r.round) - 2, y - 2, 4, 4);
    });
    ctx.stroke();
  }
  ctx.fillStyle = "#333";
  ctx.font = "12px sans-serif";
  ctx.textAlign = "left";
  ctx.fillText(`cost (max ${maxCost.toFixed(3)})`, pad, height - 8);
  ctx.textAlign = "right";
  ctx.fillText(`test accuracy ${bottom}–${top}%`, width - pad, height - 8);
}

// The weight maps at their own size (their captions are drawn into the picture, 14 to 21 px):
// as many 128-px columns as the figure holds, up to 8, four rows of them.
const MAP_CELL = 128;
function drawWeights() {
  if (!trainer || training.records.length === 0) return;
  const room = weights.closest("figure").getBoundingClientRect().width || 1000;
  const columns = Math.max(2, Math.min(8, Math.floor((room - 16) / MAP_CELL)));
  drawPicture(weights, trainer.weight_maps(4 * columns, columns));
}
// While a round runs the trainer is busy (borrowed across its await): the next round redraws.
window.addEventListener("resize", () => {
  drawCurve();
  if (training.state !== "training") drawWeights();
});

async function train() {
  stopRequested = false;
  if (window.mnistTab) {
    window.mnistTab = null;
    window.mnistLoadCard?.();
  }
  trainer?.free();
  trainer = null;
  training.records = [];
  training.model = null;
  rows.replaceChildren();
  download.hidden = true;
  document.getElementById("train-download-onnx").hidden = true;
  setState("loading", "Loading the trainer and MNIST…");
  try {
    const [files] = await Promise.all([fetchData(), openGpu()]);
    training.loaded = performance.now();
    const preset = presetChoice.value;
    training.preset = preset;
    trainer = Trainer.new(gpu, preset, ...files, options.images, options.rounds, options.seed);
    training.created = performance.now();
    training.engine = trainer.engine();
    setState("training", `Training the ${preset} recipe on ${training.engine}…`);
    for (;;) {
      const json = await trainer.round();
      if (json === "null") break;
      const r = JSON.parse(json);
      training.records.push(r);
      addRow(r);
      drawCurve();
      drawWeights();
      statusLine.textContent = `Round ${r.round} of ${r.rounds} on ${r.images} images: cost ${r.cost.toFixed(4)}, test accuracy ${r.test_accuracy.toFixed(2)}%, ${r.seconds.toFixed(2)} s.`;
      if (stopRequested || trainer.finished()) break;
    }
    await finish();
  } catch (err) {
    training.error = err.message ?? String(err);
    setState("error", `Training stopped: ${training.error}`);
  }
}

// The model trained here now reads the pad, and can be saved.
async function finish() {
  const bytes = await trainer.model_file();
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  download.href = url;
  download.hidden = false;
  training.model = url;
  // The same model as ONNX (docs/onnx.md), preprocessing included.
  const onnx = document.getElementById("train-download-onnx");
  onnx.href = URL.createObjectURL(new Blob([await trainer.onnx_file()], { type: "application/octet-stream" }));
  onnx.hidden = false;
  const current = trainer;
  window.mnistTab = {
    classify: (picture) => {
      const answer = JSON.parse(current.classify(picture));
      training.firstPrediction ??= performance.now();
      training.lastReading = answer;
      return answer;
    },
    showActivations: (picture) => {
      // Its captions are 7-px capitals: shown at twice the size, scrolled sideways where the
      // page is narrower.
      drawPicture(activations, current.activations(picture), 2);
      activations.closest("figure").hidden = false;
    },
  };
  training.card = JSON.parse(current.card());
  window.mnistShowTabCard?.(training.card, training.preset, training.adapter);
  const last = training.records.at(-1);
  const accuracy = last ? `${last.test_accuracy.toFixed(2)}% test accuracy after ${plural(last.round, "round")}` : "no rounds run";
  setState("done", `Trained here: ${accuracy}. Draw a digit: this tab reads it now.`);
}

async function runBench() {
  benchOut.hidden = false;
  benchOut.textContent = "";
  setState("benchmarking", "Benchmarking this GPU (a minute or two on a slow one)…");
  try {
    await openGpu();
    const report = JSON.parse(await gpu.bench(options.benchImages, presetChoice.value));
    training.bench = report;
    benchOut.textContent = `${report.text}\n${JSON.stringify(report.json)}`;
    setState(trainer ? "done" : "idle", "Benchmark done: copy the text below into a bug report.");
  } catch (err) {
    training.error = err.message ?? String(err);
    setState("error", `Benchmark stopped: ${training.error}`);
  }
}

startButton.addEventListener("click", train);
stopButton.addEventListener("click", () => {
  stopRequested = true;
  statusLine.textContent = "Stopping after this round…";
});
benchButton.addEventListener("click", runBench);

// A server without the web build, a browser without WebGPU, or with WebGPU but no adapter
// for this page, gets one line.
const built = await import("./pkg/mnist_gpu_web.js").catch(() => null);
const adapter = built && navigator.gpu ? await navigator.gpu.requestAdapter().catch(() => null) : null;
const info = adapter?.info ?? {};
const adapterName = [info.vendor, info.architecture, info.device, info.description]
  .filter((part) => part).join(" ") || "WebGPU adapter";
if (!built) {
  setState("unbuilt", "The in-browser trainer is not built: run tools/build-web, then restart the server. The drawing pad still asks the server.");
} else if (!adapter) {
  setState("unsupported", "This browser offers no WebGPU adapter, so it cannot train here (Chrome or Edge 113+, Safari 26+, with hardware acceleration on). The drawing pad still asks the server.");
} else {
  ({ default: init, Gpu, Trainer } = built);
  setState("idle", "Ready: choose a recipe and press Train.");
  if (params.has("autostart")) train();
}
