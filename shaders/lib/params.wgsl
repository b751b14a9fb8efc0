// The two uniform blocks every kernel reads at bindings 0 and 1, mirrored by `BatchParams` and
// `LayerParams` in src/kernel_params.rs. This is the one source of their layout: build.rs lays
// them out with naga and the build fails unless the Rust structs have the same members (names,
// types, offsets) and size.
//   Batch: which rows a dispatch works on (the batch slot is chosen by a dynamic offset).
//   Batch also carries the step's learning rate and Adam's bias corrections (optimiser steps),
//   and the round and seed of the dropout masks (shaders/lib/dropout.wgsl), then what a
//   training batch's images go through (shaders/gather_input.wgsl): the first layer's pixel
//   scale (1/(1 − rate) with input dropout, else 1), the input-dropout threshold, the largest
//   shift, rotation, size change and elastic offset (fixed point, src/ops/augment.rs), and the
//   images' side.
//   Layer: the layer's shape and learning rate; words = ceil(inputs / 4) packed pixel words;
//   then the optimiser and its settings (shaders/lib/optim.wgsl; momentum near the end), the
//   layer's index and its
//   dropout threshold and scale, the rows of its activation buffers (where a kept z begins,
//   shaders/lib/forward.wgsl), and the bound on each unit's incoming weights (max_norm.wgsl).
struct Batch {
    first: u32, rows: u32, index: u32, splits: u32, chunk: u32, scale: f32,
    lr: f32, correction1: f32, correction2: f32, round: u32, seed_lo: u32, seed_hi: u32,
    input_scale: f32, input_threshold: u32, shift: u32, rotate: u32, zoom: u32, elastic: u32,
    side: u32, pad: u32,
}
struct Layer {
    inputs: u32, outputs: u32, lr: f32, words: u32,
    optimizer: u32, beta1: f32, beta2: f32, eps: f32, weight_decay: f32, nesterov: u32,
    index: u32, dropout_threshold: u32, keep_scale: f32, saved_rows: u32, momentum: f32, max_norm: f32,
}

@group(0) @binding(0) var<uniform> batch: Batch;
@group(0) @binding(1) var<uniform> layer: Layer;

// Where bias o sits in a layer's parameter buffer: the weights (outputs × inputs, row-major),
// then the biases.
fn bias_index(o: u32) -> u32 {
    return layer.outputs * layer.inputs + o;
}

// The split-K row range [first, end) of split `split` of the batch.
fn split_rows(split: u32) -> vec2<u32> {
    let first = min(split * batch.chunk, batch.rows);
    return vec2<u32>(first, min(first + batch.chunk, batch.rows));
}

// The flat index of a 1-D kernel's invocation (grids wrap into y past 65,535 workgroups).
fn flat_index(id: vec3<u32>, groups: vec3<u32>, width: u32) -> u32 {
    return id.x + id.y * groups.x * width;
}
