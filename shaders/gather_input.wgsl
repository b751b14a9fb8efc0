// gather_input: a training batch's images as the first layer sees them, warped (--augment) and
// with input pixels dropped (--input-dropout), the twin of `NoiseParams::apply` in
// src/ops/augment.rs, operation for operation, in the same fixed-point integer arithmetic (so
// every device computes the same levels).
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
// Control points per side of the elastic grid, draws per image (`GRID`, `DRAWS`), and the
// fixed-point unit of angles, sines and scale factors (`UNIT`; positions are in 1/256 pixel).
const GRID: i32 = 4;
const DRAWS: u32 = 36u;
const UNIT: i32 = 16384;

fn items() -> u32 {
    return batch.rows * layer.words;
}

// `draw`: uniform in [−32768, 32768) from the top 16 bits of the hash of (row, j).
fn draw(key: u32, row: u32, j: u32) -> i32 {
    return i32(pcg_hash(key ^ pcg_hash(row * DRAWS + j)) >> 16u) - 32768;
}

// `scaled`: bound · draw / 32768, rounded down.
fn scaled(bound: u32, d: i32) -> i32 {
    return (i32(bound) * d) >> 15u;
}

// Control point (i, j)'s elastic offset (1/256 px) for the image in batch row `row`.
fn control(key: u32, row: u32, i: i32, j: i32) -> vec2<i32> {
    let d = 4u + 2u * u32(j * GRID + i);
    return vec2<i32>(scaled(batch.elastic, draw(key, row, d)), scaled(batch.elastic, draw(key, row, d + 1u)));
}

// `Warp::elastic_offset`: bilinear between the four control points around (x, y).
fn elastic_offset(key: u32, row: u32, x: i32, y: i32) -> vec2<i32> {
    let d = max(i32(batch.side) - 1, 1);
    let gx = x * (GRID - 1);
    let gy = y * (GRID - 1);
    let ix = min(gx / d, GRID - 2);
    let iy = min(gy / d, GRID - 2);
    let fx = gx - ix * d;
    let fy = gy - iy * d;
    let top = control(key, row, ix, iy) * (d - fx) + control(key, row, ix + 1, iy) * fx;
    let bottom = control(key, row, ix, iy + 1) * (d - fx) + control(key, row, ix + 1, iy + 1) * fx;
    return (top * (d - fy) + bottom * fy) / (d * d);
}

// Pixel (x, y) of the image whose words start at `base`, 0 outside the frame.
fn level_at(base: u32, x: i32, y: i32) -> i32 {
    let side = i32(batch.side);
    if x < 0 || y < 0 || x >= side || y >= side {
        return 0;
    }
    let k = u32(y * side + x);
    return i32((images[base + k / 4u] >> (8u * (k % 4u))) & 0xffu);
}

// `sample`: bilinear between the four pixels around (sx, sy) (1/256 px), rounded to a level.
fn sample(base: u32, sx: i32, sy: i32) -> u32 {
    let x0 = sx >> 8u;
    let y0 = sy >> 8u;
    let fx = sx & 255;
    let fy = sy & 255;
    let top = level_at(base, x0, y0) * (256 - fx) + level_at(base, x0 + 1, y0) * fx;
    let bottom = level_at(base, x0, y0 + 1) * (256 - fx) + level_at(base, x0 + 1, y0 + 1) * fx;
    return u32((top * (256 - fy) + bottom * fy + 32768) >> 16u);
}

// `small_sin_cos`: (sin a, cos a) in 1/16384 for an angle in 1/16384 radian.
fn small_sin_cos(a: i32) -> vec2<i32> {
    let a2 = (a * a) >> 14u;
    let a4 = (a2 * a2) >> 14u;
    let s = (a * (UNIT - a2 / 6 + a4 / 120)) >> 14u;
    let c = UNIT - a2 / 2 + a4 / 24;
    return vec2<i32>(s, c);
}

fn item(e: u32) {
    let row = e / layer.words;
    let w = e % layer.words;
    let image = order[batch.first + row];
    let base = image * layer.words;
    let warp_key = batch_key(WARP_STREAM);
    let drop_key = batch_key(INPUT_DROPOUT_STREAM);
    let warped = batch.shift > 0u || batch.rotate > 0u || batch.zoom > 0u || batch.elastic > 0u;
    // `Warp::draw`: the image's rotation, size and shift.
    let sc = small_sin_cos(scaled(batch.rotate, draw(warp_key, row, 0u)));
    let inv_scale = (UNIT * UNIT) / (UNIT + scaled(batch.zoom, draw(warp_key, row, 1u)));
    let shift = vec2<i32>(scaled(batch.shift, draw(warp_key, row, 2u)), scaled(batch.shift, draw(warp_key, row, 3u)));
    let centre = (i32(batch.side) - 1) * 128;
    var word = 0u;
    for (var b = 0u; b < 4u; b++) {
        let k = w * 4u + b;
        if k >= layer.inputs {
            break;
        }
        var level = (images[base + w] >> (8u * b)) & 0xffu;
        if warped {
            // `Warp::source`.
            let x = i32(k % batch.side);
            let y = i32(k / batch.side);
            let px = x * 256 - centre - shift.x;
            let py = y * 256 - centre - shift.y;
            let offset = elastic_offset(warp_key, row, x, y);
            let rx = (sc.y * px + sc.x * py) >> 14u;
            let ry = (sc.y * py - sc.x * px) >> 14u;
            let sx = ((rx * inv_scale) >> 14u) + centre + offset.x;
            let sy = ((ry * inv_scale) >> 14u) + centre + offset.y;
            level = sample(base, sx, sy);
        }
        if batch.input_threshold > 0u && !is_kept(drop_key, row * layer.inputs + k, batch.input_threshold) {
            level = 0u;
        }
        word |= level << (8u * b);
    }
    augmented[base + w] = word;
}
