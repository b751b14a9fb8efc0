// gather_input: a training batch's images as the first layer sees them, warped (--augment) and
// with input pixels dropped (--input-dropout), the twin of `InputNoise::apply` in
// src/ops/augment.rs, operation for operation.
//   image = order[batch.first + r]; for pixel k = (x, y) of row r:
//   level = round(bilinear(images[image], warp_r(x, y))) (or the pixel itself without a warp),
//   0 when input dropout drops element r·inputs + k; written to augmented[image], so the first
//   layer's kernels read the batch through the same order as they read the resident images.
// Shapes: images (n × words) u32, order (n) u32, augmented (n × words) u32.
// One invocation per packed word (4 pixels) of a batch row.
#import line
#import dropout
@group(0) @binding(2) var<storage, read> images: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read_write> augmented: array<u32>;

// The key streams of src/ops/augment.rs: warps and input-dropout masks.
const WARP_STREAM: u32 = 0x57415250u;
const INPUT_DROPOUT_STREAM: u32 = 0x44524f50u;
// Control points per side of the elastic grid, and draws per image (`GRID`, `DRAWS`).
const GRID: u32 = 4u;
const DRAWS: u32 = 36u;

fn items() -> u32 {
    return batch.rows * layer.words;
}

// `draw`: a uniform draw in [−1, 1) from the top 24 bits of the hash of (row, j).
fn draw(key: u32, row: u32, j: u32) -> f32 {
    return f32(pcg_hash(key ^ pcg_hash(row * DRAWS + j)) >> 8u) * (1.0 / 8388608.0) - 1.0;
}

fn lerp(a: f32, b: f32, t: f32) -> f32 {
    return a + (b - a) * t;
}

// Control point (i, j)'s elastic offset for the image in batch row `row`.
fn control(key: u32, row: u32, i: u32, j: u32) -> vec2<f32> {
    let d = 4u + 2u * (j * GRID + i);
    return vec2<f32>(batch.elastic * draw(key, row, d), batch.elastic * draw(key, row, d + 1u));
}

// `Warp::elastic_offset`: bilinear between the four control points around (x, y).
fn elastic_offset(key: u32, row: u32, x: u32, y: u32) -> vec2<f32> {
    let step = f32(GRID - 1u) / f32(max(batch.side - 1u, 1u));
    let gx = f32(x) * step;
    let gy = f32(y) * step;
    let ix = min(u32(gx), GRID - 2u);
    let iy = min(u32(gy), GRID - 2u);
    let fx = gx - f32(ix);
    let fy = gy - f32(iy);
    let c00 = control(key, row, ix, iy);
    let c10 = control(key, row, ix + 1u, iy);
    let c01 = control(key, row, ix, iy + 1u);
    let c11 = control(key, row, ix + 1u, iy + 1u);
    let top = vec2<f32>(lerp(c00.x, c10.x, fx), lerp(c00.y, c10.y, fx));
    let bottom = vec2<f32>(lerp(c01.x, c11.x, fx), lerp(c01.y, c11.y, fx));
    return vec2<f32>(lerp(top.x, bottom.x, fy), lerp(top.y, bottom.y, fy));
}

// Pixel (x, y) of the image whose words start at `base`, 0 outside the frame.
fn level_at(base: u32, x: f32, y: f32) -> f32 {
    let side = f32(batch.side);
    if x < 0.0 || y < 0.0 || x >= side || y >= side {
        return 0.0;
    }
    let k = u32(y) * batch.side + u32(x);
    return f32((images[base + k / 4u] >> (8u * (k % 4u))) & 0xffu);
}

// `sample`: bilinear between the four pixels around (sx, sy), rounded to a grey level.
fn sample(base: u32, sx: f32, sy: f32) -> u32 {
    let x0 = floor(sx);
    let y0 = floor(sy);
    let fx = sx - x0;
    let fy = sy - y0;
    let top = lerp(level_at(base, x0, y0), level_at(base, x0 + 1.0, y0), fx);
    let bottom = lerp(level_at(base, x0, y0 + 1.0), level_at(base, x0 + 1.0, y0 + 1.0), fx);
    return u32(clamp(floor(lerp(top, bottom, fy) + 0.5), 0.0, 255.0));
}

// `small_sin_cos`: Taylor polynomials, the same on every device.
fn small_sin_cos(a: f32) -> vec2<f32> {
    let a2 = a * a;
    let s = a * (1.0 - a2 / 6.0 * (1.0 - a2 / 20.0 * (1.0 - a2 / 42.0)));
    let c = 1.0 - a2 / 2.0 * (1.0 - a2 / 12.0 * (1.0 - a2 / 30.0));
    return vec2<f32>(s, c);
}

fn item(e: u32) {
    let row = e / layer.words;
    let w = e % layer.words;
    let image = order[batch.first + row];
    let base = image * layer.words;
    let warp_key = batch_key(WARP_STREAM);
    let drop_key = batch_key(INPUT_DROPOUT_STREAM);
    let warped = batch.shift > 0.0 || batch.rotate > 0.0 || batch.zoom > 0.0 || batch.elastic > 0.0;
    // `Warp::draw`: the image's rotation, size and shift.
    let sc = small_sin_cos(batch.rotate * draw(warp_key, row, 0u));
    let inv_scale = 1.0 / (1.0 + batch.zoom * draw(warp_key, row, 1u));
    let shift = vec2<f32>(batch.shift * draw(warp_key, row, 2u), batch.shift * draw(warp_key, row, 3u));
    let centre = f32(batch.side - 1u) * 0.5;
    var word = 0u;
    for (var b = 0u; b < 4u; b++) {
        let k = w * 4u + b;
        if k >= layer.inputs {
            break;
        }
        var level = (images[base + w] >> (8u * b)) & 0xffu;
        if warped {
            // `Warp::source`.
            let x = k % batch.side;
            let y = k / batch.side;
            let px = f32(x) - centre - shift.x;
            let py = f32(y) - centre - shift.y;
            let offset = elastic_offset(warp_key, row, x, y);
            let sx = (sc.y * px + sc.x * py) * inv_scale + centre + offset.x;
            let sy = (sc.y * py - sc.x * px) * inv_scale + centre + offset.y;
            level = sample(base, sx, sy);
        }
        if batch.input_threshold > 0u && !is_kept(drop_key, row * layer.inputs + k, batch.input_threshold) {
            level = 0u;
        }
        word |= level << (8u * b);
    }
    augmented[base + w] = word;
}
