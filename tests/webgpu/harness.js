// A WebGPU harness for the kernel tests: the Rust side (tests/dawn.rs, through WebDriver)
// hands it composed WGSL and host buffers; it compiles and dispatches them on the browser's
// WebGPU (Dawn and its compiler Tint in Chromium) and hands back what the kernel wrote.
//
// Every kernel's interface is the same: binding 0 the `Batch` uniform, binding 1 the `Layer`
// uniform, then its storage buffers in the kernel table's order ("read" or "read_write").
// Buffers travel as base64 strings (NaN poison survives; JSON numbers would not).

let device = null;
const pipelines = new Map();

function fromBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function toBase64(bytes) {
  let raw = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    raw += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(raw);
}

// The adapter, and a device with every limit the adapter offers (as the native engine asks).
async function init() {
  if (!navigator.gpu) throw new Error("navigator.gpu is missing: this browser has no WebGPU");
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error("navigator.gpu.requestAdapter() found no adapter");
  const requiredLimits = {};
  for (const name in adapter.limits) {
    if (typeof adapter.limits[name] === "number") requiredLimits[name] = adapter.limits[name];
  }
  device = await adapter.requestDevice({ requiredLimits });
  device.lost.then((info) => console.error(`device lost: ${info.message}`));
  const info = adapter.info || {};
  return {
    vendor: info.vendor || "",
    architecture: info.architecture || "",
    description: info.description || "",
    limits: requiredLimits,
  };
}

function layoutFor(storage) {
  const entries = [0, 1].map((binding) => ({
    binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type: "uniform" },
  }));
  storage.forEach((access, i) => {
    entries.push({
      binding: 2 + i,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: access === "read" ? "read-only-storage" : "storage" },
    });
  });
  return device.createBindGroupLayout({ entries });
}

// Compiles one variant: the shader module's error messages, then the pipeline (with the
// kernel table's layout and the variant's override constants). Cached by source and constants.
async function pipeline(spec) {
  const key = JSON.stringify([spec.code, spec.constants, spec.storage]);
  if (pipelines.has(key)) return pipelines.get(key);
  const module = device.createShaderModule({ code: spec.code });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === "error");
  if (errors.length > 0) {
    throw new Error(errors.map((m) => `${m.lineNum}:${m.linePos}: ${m.message}`).join("; "));
  }
  const bindGroupLayout = layoutFor(spec.storage);
  const compiled = await device.createComputePipelineAsync({
    layout: device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout] }),
    compute: { module, entryPoint: "main", constants: spec.constants },
  });
  const entry = { pipeline: compiled, layout: bindGroupLayout };
  pipelines.set(key, entry);
  return entry;
}

// Compiles every variant; returns one line per variant that was rejected.
async function compileAll(specs) {
  const rejected = [];
  for (const spec of specs) {
    try {
      await checked(() => pipeline(spec));
    } catch (e) {
      rejected.push(`${spec.name}: ${e.message || e}`);
    }
  }
  return rejected;
}

function bufferWith(bytes, usage) {
  // Bindings need a non-zero size that is a multiple of 4 (16 for uniforms).
  const size = Math.max(16, Math.ceil(bytes.length / 16) * 16);
  const buffer = device.createBuffer({ size, usage, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).set(bytes);
  buffer.unmap();
  return buffer;
}

// The variant's pipeline, its buffers filled from the spec and its bind group.
async function prepare(spec) {
  const { pipeline: compiled, layout } = await pipeline(spec);
  const uniforms = [spec.batch, spec.layer].map((b) =>
    bufferWith(fromBase64(b), GPUBufferUsage.UNIFORM));
  const storage = spec.buffers.map((b) => fromBase64(b));
  const buffers = storage.map((bytes) => bufferWith(bytes,
    GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST));
  const group = device.createBindGroup({
    layout,
    entries: [...uniforms, ...buffers].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const destroy = () => [...uniforms, ...buffers].forEach((buffer) => buffer.destroy());
  return { compiled, group, storage, buffers, destroy };
}

function encodeDispatches(encoder, compiled, group, grid, count) {
  const pass = encoder.beginComputePass();
  pass.setPipeline(compiled);
  pass.setBindGroup(0, group);
  for (let i = 0; i < count; i++) pass.dispatchWorkgroups(...grid);
  pass.end();
}

// Runs `work` inside validation, out-of-memory and internal error scopes: whatever the device
// reports while it runs is thrown, like an exception from `work` itself.
async function checked(work) {
  const scopes = ["validation", "out-of-memory", "internal"];
  scopes.forEach((scope) => device.pushErrorScope(scope));
  let result;
  let failure = null;
  try {
    result = await work();
  } catch (e) {
    failure = e;
  }
  const errors = [];
  for (const _ of scopes) {
    const error = await device.popErrorScope();
    if (error) errors.push(error.message);
  }
  if (failure) throw failure;
  if (errors.length > 0) throw new Error(errors.join("; "));
  return result;
}

// One dispatch of one variant on the given buffers; returns the contents of every read_write
// buffer afterwards (null for the read-only ones).
async function run(spec) {
  const { storage, buffers, staging, destroy } = await checked(async () => {
    const prepared = await prepare(spec);
    const encoder = device.createCommandEncoder();
    encodeDispatches(encoder, prepared.compiled, prepared.group, spec.grid, 1);
    const staging = prepared.buffers.map((buffer, i) => {
      if (spec.storage[i] === "read") return null;
      const copy = device.createBuffer({
        size: buffer.size,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      encoder.copyBufferToBuffer(buffer, 0, copy, 0, buffer.size);
      return copy;
    });
    device.queue.submit([encoder.finish()]);
    return { ...prepared, staging };
  });
  const outputs = [];
  for (let i = 0; i < staging.length; i++) {
    if (!staging[i]) {
      outputs.push(null);
      continue;
    }
    await staging[i].mapAsync(GPUMapMode.READ);
    const bytes = new Uint8Array(staging[i].getMappedRange()).slice(0, storage[i].length);
    outputs.push(toBase64(bytes));
    staging[i].destroy();
  }
  destroy();
  return outputs;
}

// Seconds per dispatch of one variant, one figure per sample: each sample records `dispatches`
// dispatches in one pass, submits once and waits for the queue (browsers coarsen their clocks,
// so a sample must last milliseconds, not microseconds).
async function time(spec) {
  const { compiled, group, destroy } = await checked(() => prepare(spec));
  const sample = async (count) => {
    const start = performance.now();
    const encoder = device.createCommandEncoder();
    encodeDispatches(encoder, compiled, group, spec.grid, count);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - start) / 1000 / count;
  };
  await checked(() => sample(1));
  const seconds = [];
  for (let i = 0; i < spec.samples; i++) seconds.push(await sample(spec.dispatches));
  destroy();
  return seconds;
}

// WebDriver's executeAsync hands over a callback: each call answers {ok} or {error}.
function answer(promise, done) {
  promise.then((ok) => done({ ok }), (e) => done({ error: String(e && e.message || e) }));
}

window.harness = {
  init: (_, done) => answer(init(), done),
  compileAll: (specs, done) => answer(compileAll(specs), done),
  run: (spec, done) => answer(run(spec), done),
  time: (spec, done) => answer(time(spec), done),
};
document.title = "ready";
