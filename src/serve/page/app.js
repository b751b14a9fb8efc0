// The drawing pad: strokes kept as point lists (so undo redraws the rest), a debounced
// prediction while drawing, the ten bars, the 28x28 input the network saw and the model card.
"use strict";

const DEBOUNCE_MS = 120;
// MNIST strokes are about 2 to 3 pixels wide in a 20-pixel-tall digit: a pen of 1/14 of
// the pad gives the same proportion for a digit drawn across most of the pad.
const PEN_FRACTION = 1 / 14;

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const seen = document.getElementById("seen");
const seenCtx = seen.getContext("2d");
const digitOut = document.getElementById("digit");
const statusLine = document.getElementById("status");
const prediction = document.getElementById("prediction");
const bars = document.getElementById("bars");
const hint = document.getElementById("hint");

let strokes = [];       // [[{x, y}, ...], ...] in pad pixels
let current = null;     // the stroke being drawn
let picture = null;     // a dropped or chosen picture drawn under the strokes
let timer = null;
let sent = 0;           // requests sent; an answer older than the latest is dropped
let drawing = 0;        // bumped when the pad is emptied: a picture of an older pad is not sent
// A drawing whose largest side is under this fraction of the pad is a dot or a slip, not a
// digit: the page says so instead of reading it as one.
const MIN_EXTENT = 0.15;

// Ten labelled bars.
const barFill = [];
const barText = [];
for (let d = 0; d < 10; d++) {
  const li = document.createElement("li");
  li.className = "bar";
  li.setAttribute("role", "meter");
  li.setAttribute("aria-valuemin", "0");
  li.setAttribute("aria-valuemax", "100");
  li.setAttribute("aria-label", `digit ${d}`);
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = d;
  const track = document.createElement("span");
  track.className = "track";
  const fill = document.createElement("span");
  fill.className = "fill";
  track.appendChild(fill);
  const pct = document.createElement("span");
  pct.className = "pct";
  li.append(label, track, pct);
  bars.appendChild(li);
  barFill.push(fill);
  barText.push(pct);
}

function redraw() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  if (picture) {
    const scale = Math.min(pad.width / picture.width, pad.height / picture.height);
    const w = picture.width * scale, h = picture.height * scale;
    ctx.drawImage(picture, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
  }
  ctx.strokeStyle = "#000";
  ctx.fillStyle = "#000";
  ctx.lineWidth = pad.width * PEN_FRACTION;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const stroke of current ? strokes.concat([current]) : strokes) {
    if (stroke.length === 1) {
      ctx.beginPath();
      ctx.arc(stroke[0].x, stroke[0].y, ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.beginPath();
    ctx.moveTo(stroke[0].x, stroke[0].y);
    for (const p of stroke.slice(1)) ctx.lineTo(p.x, p.y);
    ctx.stroke();
  }
  hint.hidden = strokes.length > 0 || current !== null || picture !== null;
}

function point(event) {
  const r = pad.getBoundingClientRect();
  return {
    x: (event.clientX - r.left) * pad.width / r.width,
    y: (event.clientY - r.top) * pad.height / r.height,
  };
}

pad.addEventListener("pointerdown", (e) => {
  if (e.button !== 0) return;
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  current = [point(e)];
  redraw();
});
pad.addEventListener("pointermove", (e) => {
  if (!current) return;
  e.preventDefault();
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const c of events.length ? events : [e]) current.push(point(c));
  redraw();
  schedule();
});
function endStroke(e) {
  if (!current) return;
  e.preventDefault();
  strokes.push(current);
  current = null;
  redraw();
  schedule(0);
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function schedule(delay = DEBOUNCE_MS) {
  clearTimeout(timer);
  prediction.dataset.status = "waiting";
  timer = setTimeout(predictDrawing, delay);
}

function clearAll() {
  strokes = [];
  current = null;
  picture = null;
  clearTimeout(timer);
  redraw();
  showEmpty();
}

function undo() {
  if (current) return;
  if (strokes.length > 0) strokes.pop();
  else picture = null;
  redraw();
  if (strokes.length === 0 && !picture) showEmpty();
  else schedule(0);
}

function showEmpty() {
  sent++;
  drawing++;
  digitOut.textContent = "–";
  statusLine.textContent = "Draw a digit to start.";
  prediction.dataset.status = "empty";
  prediction.dataset.strokes = "0";
  for (let d = 0; d < 10; d++) setBar(d, 0, false);
  seenCtx.clearRect(0, 0, 28, 28);
}

document.getElementById("clear").addEventListener("click", clearAll);
document.getElementById("undo").addEventListener("click", undo);
document.addEventListener("keydown", (e) => {
  if (e.target instanceof HTMLInputElement) return;
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") { e.preventDefault(); undo(); }
  else if (e.key === "Backspace") { e.preventDefault(); undo(); }
  else if (e.key === "Escape" || e.key === "Delete") { e.preventDefault(); clearAll(); }
});

// The largest side of the strokes' bounding box, as a fraction of the pad.
function inkExtent() {
  const points = (current ? strokes.concat([current]) : strokes).flat();
  if (points.length === 0) return 0;
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const side = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  return side / pad.width;
}

function predictDrawing() {
  if (!picture && inkExtent() < MIN_EXTENT) {
    sent++;
    digitOut.textContent = "–";
    statusLine.textContent = "Too little ink to read: draw a digit across most of the pad.";
    prediction.dataset.status = "too-little";
    for (let d = 0; d < 10; d++) setBar(d, 0, false);
    return;
  }
  const strokeCount = strokes.length;
  const generation = drawing;
  pad.toBlob((blob) => {
    // Cleared while the picture was being made: it is no longer what the pad shows.
    if (blob && generation === drawing) send(blob, "image/png", strokeCount);
  }, "image/png");
}

// A model trained in this tab (train.js sets it when training stops) reads the drawings here,
// in WebAssembly; without one the server reads them.
window.mnistTab = null;

// Where no server answers (the static site), the pad says what to do instead of an error.
const NO_MODEL = "No model yet: train one below, then draw.";

// A JSON answer, or null where what came back is no JSON (a static host's page or 404).
async function jsonOf(response) {
  const type = response.headers.get("content-type") || "";
  if (!/json/i.test(type)) return null;
  try { return await response.json(); } catch { return null; }
}

async function send(body, type, strokeCount) {
  if (window.mnistTab) return readInTab(body, strokeCount);
  const id = ++sent;
  prediction.dataset.status = "waiting";
  try {
    const response = await fetch("api/predict", {
      method: "POST",
      headers: { "Content-Type": type || "application/octet-stream" },
      body,
    });
    const answer = await jsonOf(response);
    if (id !== sent) return;
    // No JSON: a static host (no such address, or no POST: 404, 405, 501) has no model; any
    // other answer is an error, said by its status rather than by a parse error.
    if (answer === null && !(response.ok || [404, 405, 501].includes(response.status))) {
      throw new Error(`the server answered HTTP ${response.status}`);
    }
    if (answer === null) {
      digitOut.textContent = "–";
      statusLine.textContent = NO_MODEL;
      prediction.dataset.status = "no-model";
      return;
    }
    if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    show(answer, strokeCount);
  } catch (err) {
    if (id !== sent) return;
    digitOut.textContent = "?";
    statusLine.textContent = `Could not classify: ${err.message}`;
    prediction.dataset.status = "error";
  }
}

async function readInTab(blob, strokeCount) {
  const id = ++sent;
  prediction.dataset.status = "waiting";
  try {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    if (id !== sent) return;
    const answer = window.mnistTab.classify(bytes);
    show(answer, strokeCount);
    statusLine.textContent += " (read in this tab by the model trained here)";
    window.mnistTab.showActivations(bytes);
  } catch (err) {
    if (id !== sent) return;
    digitOut.textContent = "?";
    statusLine.textContent = `Could not classify: ${err.message}`;
    prediction.dataset.status = "error";
  }
}

function setBar(d, p, best) {
  const pct = Math.round(p * 1000) / 10;
  barFill[d].style.width = `${(p * 100).toFixed(1)}%`;
  barText[d].textContent = `${pct.toFixed(1)}%`;
  bars.children[d].setAttribute("aria-valuenow", pct.toFixed(1));
  bars.children[d].classList.toggle("best", best);
}

// What a probability is: a softmax model's (cross-entropy loss) are the softmax's; a sigmoid
// model's are its outputs divided by their sum. The model card tells the server's loss.
let probabilityWords = "of the normalised outputs";

function show(answer, strokeCount) {
  digitOut.textContent = answer.digit;
  const p = answer.probabilities;
  statusLine.textContent = `${answer.digit}, ${(p[answer.digit] * 100).toFixed(1)}% ${probabilityWords}`;
  for (let d = 0; d < 10; d++) setBar(d, p[d], d === answer.digit);
  const image = seenCtx.createImageData(28, 28);
  answer.input.flat().forEach((v, i) => {
    const level = Math.round(Math.min(1, Math.max(0, v)) * 255);
    image.data.set([level, level, level, 255], i * 4);
  });
  seenCtx.putImageData(image, 0, 0);
  prediction.dataset.strokes = String(strokeCount);
  prediction.dataset.source = window.mnistTab ? "tab" : "server";
  prediction.dataset.status = "ready";
}

// Pictures: chosen with the button or dropped on the pad.
function classifyFile(file) {
  if (!file) return;
  strokes = [];
  current = null;
  const url = URL.createObjectURL(file);
  const img = new Image();
  img.onload = () => { picture = img; redraw(); };
  img.onerror = () => { picture = null; redraw(); URL.revokeObjectURL(url); };
  img.src = url;
  send(file, file.type, 0);
}
document.getElementById("file").addEventListener("change", (e) => {
  classifyFile(e.target.files[0]);
  e.target.value = "";
});
const dropZone = document.getElementById("drop-zone");
dropZone.addEventListener("dragover", (e) => { e.preventDefault(); dropZone.classList.add("over"); });
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
dropZone.addEventListener("drop", (e) => {
  e.preventDefault();
  dropZone.classList.remove("over");
  classifyFile(e.dataTransfer.files[0]);
});

// The model card: the server's model, or the one trained in this tab once it reads the pad.
function showCard(m, rows) {
  probabilityWords = /entropy/i.test(m.loss) ? "softmax probability" : "of the normalised outputs";
  document.getElementById("probabilities-note").textContent = `Probabilities: ${m.probabilities}.`;
  const card = document.getElementById("model-card");
  card.replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    return [dt, dd];
  }));
}

const accuracyText = (m) => m.test_accuracy == null ? "not measured" : `${m.test_accuracy.toFixed(2)}%`;

// The card's rows about the network and its training, for the server's model and the tab's.
function networkRows(m) {
  return [
    ["layers", m.layers.join(" → ")],
    ["activation", m.activation],
    ["loss", m.loss],
    ["rounds", m.rounds],
    ["batch size, learning rate", `${m.batch_size}, ${m.learning_rate}`],
    ["test accuracy", accuracyText(m)],
  ];
}

// train.js calls this when the tab's model starts reading the pad.
window.mnistShowTabCard = (m, recipe, adapter) => {
  const card = document.getElementById("model-card");
  card.dataset.source = "tab";
  showCard(m, [["recipe", recipe], ...networkRows(m), ["engine", `this browser: ${adapter}`]]);
};

async function loadCard() {
  const card = document.getElementById("model-card");
  card.dataset.source = "server";
  try {
    const response = await fetch("api/model");
    const m = response.ok ? await jsonOf(response) : null;
    if (window.mnistTab) return; // the tab's model took over meanwhile
    if (m === null) {
      // A static site: no server, no model until one is trained here.
      card.dataset.source = "none";
      card.textContent = NO_MODEL;
      return;
    }
    showCard(m, [
      ...networkRows(m),
      ["trained", m.trained_at || "unknown"],
      ["trained on", m.trained_on],
      ["from", m.source],
      ["predictions by", m.classifier],
    ]);
  } catch (err) {
    card.textContent = `cannot load the server's model card: ${err.message}`;
  }
}
window.mnistLoadCard = loadCard;

redraw();
showEmpty();
loadCard();
