// Dropout masks, the twin of `Dropout` in src/ops/dropout.rs: whether element e of hidden layer
// l in batch b of round r is kept depends only on (seed, r, b, l, e), through the PCG output
// hash (Jarzynski & Olano 2020) in 32-bit arithmetic. Kept elements are scaled by
// layer.keep_scale = 1/(1 − rate); an element is kept when the top 24 bits of its hash are at
// or above layer.dropout_threshold = round(rate·2²⁴).
fn pcg_hash(input: u32) -> u32 {
    let state = input * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// `Dropout::batch_key`: the counters folded in, the 64-bit seed as two halves; `stream` is
// the layer's index, or one of the input streams of src/ops/augment.rs.
fn batch_key(stream: u32) -> u32 {
    var key = pcg_hash(batch.seed_lo);
    key = pcg_hash(key ^ batch.seed_hi);
    key = pcg_hash(key ^ batch.round);
    key = pcg_hash(key ^ batch.index);
    return pcg_hash(key ^ stream);
}

fn dropout_key() -> u32 {
    return batch_key(layer.index);
}

// Whether element e survives a mask keyed `key` with `threshold` (`Dropout::mask`).
fn is_kept(key: u32, e: u32, threshold: u32) -> bool {
    return (pcg_hash(key ^ pcg_hash(e)) >> 8u) >= threshold;
}

// `Dropout::mask`: 0 when element e (row-major in the batch's layer outputs) is dropped,
// keep_scale when kept.
fn dropout_mask(key: u32, e: u32) -> f32 {
    return select(0.0, layer.keep_scale, is_kept(key, e, layer.dropout_threshold));
}
