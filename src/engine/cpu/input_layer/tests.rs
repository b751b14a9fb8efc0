use super::*;

/// Seeded values in [-1, 1) (xorshift), none of them zero.
fn noise(seed: u32, n: usize) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let v = (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0;
            if v == 0.0 { 0.5 } else { v }
        })
        .collect()
}

/// Images of `width` bytes with about a fifth of the pixels lit, like MNIST.
fn sparse_bytes(seed: u32, images: usize, width: usize) -> Vec<u8> {
    lit_bytes(seed, images, width, 0.2)
}

/// Images of `width` bytes with about `fraction` of the pixels lit.
fn lit_bytes(seed: u32, images: usize, width: usize, fraction: f32) -> Vec<u8> {
    noise(seed, images * width)
        .iter()
        .map(|&v| {
            let u = (v + 1.0) / 2.0;
            if u < fraction {
                (u / fraction * 254.0) as u8 + 1
            } else {
                0
            }
        })
        .collect()
}

/// Every test shape with MNIST-like images, and the smaller ones with every pixel lit too
/// (tiles then cover every pixel), on every SIMD level this CPU runs.
fn cases() -> Vec<((usize, usize), f32, Simd)> {
    let mut cases = Vec::new();
    for shape in SHAPES {
        for fraction in [0.2, 1.0] {
            if fraction == 1.0 && shape.0 > 100 {
                continue;
            }
            for simd in Simd::available() {
                cases.push((shape, fraction, simd));
            }
        }
    }
    cases
}

fn layer(inputs: usize, outputs: usize, seed: u32) -> Layer {
    Layer {
        inputs,
        outputs,
        weights: noise(seed, inputs * outputs),
        biases: noise(seed + 1, outputs),
    }
}

// Shapes on both sides of the 16-lane padding, with blocks of every width from 1 to 5
// vectors (5: 1; 20: 2; 131: 9 = 3+3+3 and 4+5; 150: 10 = 3+3+4 and 5+5; 400: 25).
const SHAPES: [(usize, usize); 5] = [(37, 5), (23, 20), (50, 150), (29, 131), (784, 400)];

#[test]
fn blocks_cover_the_outputs_evenly_in_the_fewest_blocks() {
    for outputs in 1..300usize {
        let vectors = outputs.div_ceil(LANES);
        for max in 1..=5 {
            let blocks: Vec<(usize, usize)> = blocks(outputs, max).collect();
            assert_eq!(
                blocks.len(),
                vectors.div_ceil(max),
                "{outputs} outputs, max {max}"
            );
            let mut next = 0;
            for &(first, width) in &blocks {
                assert_eq!(
                    first,
                    next * LANES,
                    "{outputs} outputs, max {max}: contiguous"
                );
                assert!((1..=max).contains(&width), "{outputs} outputs, max {max}");
                next += width;
            }
            assert_eq!(next, vectors, "{outputs} outputs, max {max}: all covered");
            let widths = blocks.iter().map(|b| b.1);
            let (lo, hi) = (widths.clone().min(), widths.max());
            assert!(
                hi.zip(lo).is_some_and(|(h, l)| h - l <= 1),
                "{outputs}: even"
            );
        }
    }
    assert_eq!(
        blocks(200, 5).collect::<Vec<_>>(),
        [(0, 4), (64, 4), (128, 5)]
    );
}

#[test]
fn lit_pixels_keep_the_values_and_mark_exactly_the_non_zero_ones() {
    let width = 131; // three bitmap words, and a last tile of 3 pixels
    let bytes = sparse_bytes(3, 9, width);
    let lit = LitPixels::from_bytes(&bytes, width);
    assert_eq!(lit.len(), 9);
    for (i, row) in bytes.chunks(width).enumerate() {
        let want: Vec<f32> = row.iter().map(|&p| f32::from(p) / 255.0).collect();
        assert_eq!(&lit.row(i)[..width], &want[..], "image {i}");
        assert!(
            lit.row(i)[width..].iter().all(|&x| x == 0.0),
            "image {i} padding"
        );
        for (k, &p) in row.iter().enumerate() {
            assert_eq!(
                lit.bits(i)[k / 64] >> (k % 64) & 1 == 1,
                p != 0,
                "image {i} pixel {k}"
            );
        }
        let tiles: Vec<usize> = (0..width.div_ceil(TILE))
            .filter(|t| {
                row[t * TILE..((t + 1) * TILE).min(width)]
                    .iter()
                    .any(|&p| p != 0)
            })
            .collect();
        let mut visited = Vec::new();
        lit.for_each_lit_tile(i, |t| visited.push(t));
        assert_eq!(visited, tiles, "image {i} tiles");
        assert_eq!(lit.lit_tile_count(i), tiles.len(), "image {i} tile count");
    }
    let mut counts: Vec<usize> = (0..9).map(|i| lit.lit_tile_count(i)).collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(lit.most_lit_tiles(3), counts[..3].iter().sum::<usize>());
    assert_eq!(lit.most_lit_tiles(100), counts.iter().sum::<usize>());
    // Images written over others in place (a distorted batch) get the same bitmaps.
    let mut rewritten = LitPixels::from_bytes(&sparse_bytes(4, 9, width), width);
    for (i, row) in bytes.chunks(width).enumerate() {
        rewritten.set_levels(i, row, 1.0);
    }
    assert_eq!(rewritten.values, lit.values);
    assert_eq!(rewritten.bits, lit.bits);
    assert_eq!(rewritten.tiles, lit.tiles);
}

#[test]
fn batch_columns_list_each_tiles_rows_in_order() {
    let width = 23;
    let bytes = sparse_bytes(5, 40, width);
    let lit = LitPixels::from_bytes(&bytes, width);
    let batch: Vec<u32> = vec![7, 3, 39, 3, 0, 12];
    let mut columns = BatchColumns::new(width, lit.most_lit_tiles(batch.len()));
    // Indexing twice checks that nothing of the first index survives into the second.
    columns.index(&lit, &[1, 2, 5]);
    columns.index(&lit, &batch);
    let x = |i: u32, k: usize| {
        if k < width {
            f32::from(bytes[i as usize * width + k]) / 255.0
        } else {
            0.0
        }
    };
    // The whole batch, and a slice of its rows (the weight step's passes over big batches).
    for slice in [0..batch.len() as u32, 2..5] {
        for t in 0..width.div_ceil(TILE) {
            let (rows, values) = columns.tile(t, &slice);
            let want: Vec<(u32, [f32; TILE])> = batch
                .iter()
                .enumerate()
                .map(|(r, &i)| (r as u32, std::array::from_fn(|j| x(i, t * TILE + j))))
                .filter(|(r, v): &(u32, [f32; TILE])| {
                    slice.contains(r) && v.iter().any(|&x| x != 0.0)
                })
                .collect();
            let got: Vec<(u32, [f32; TILE])> =
                rows.iter().copied().zip(values.iter().copied()).collect();
            assert_eq!(got, want, "tile {t}, rows {slice:?}");
        }
    }
}

#[test]
fn forward_matches_the_dense_product() {
    for ((inputs, outputs), fraction, simd) in cases() {
        let l = layer(inputs, outputs, 11);
        let bytes = lit_bytes(13, 45, inputs, fraction);
        let lit = LitPixels::from_bytes(&bytes, inputs);
        let mut input = InputLayer::new(&l, &[], &[]);
        input.simd = simd;
        // 45 images: the last tile of 4 has one.
        let batch: Vec<u32> = (0..45).rev().collect();
        let mut out = vec![f32::NAN; batch.len() * outputs];
        input.forward(&l.biases, &lit, &batch, &mut out);
        for (r, &image) in batch.iter().enumerate() {
            for o in 0..outputs {
                let mut want = f64::from(l.biases[o]);
                let mut magnitude = want.abs();
                for k in 0..inputs {
                    let x = f64::from(bytes[image as usize * inputs + k]) / 255.0;
                    want += x * f64::from(l.weights[o * inputs + k]);
                    magnitude += (x * f64::from(l.weights[o * inputs + k])).abs();
                }
                let got = f64::from(out[r * outputs + o]);
                // An f32 sum of n terms is off by at most n·2⁻²⁴·Σ|terms| and typically
                // √n·2⁻²⁴·Σ|terms|: with n ≈ 160 lit pixels, 4e-6·Σ|terms| lies between
                // the two, and far below a single misplaced term.
                assert!(
                    (got - want).abs() <= 4e-6 * magnitude,
                    "{inputs}-{outputs} lit {fraction} {simd:?}: row {r} output {o}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn step_applies_the_update_to_the_dense_gradient() {
    for ((inputs, outputs), fraction, simd) in cases() {
        let l = layer(inputs, outputs, 17);
        let (first, second) = (noise(19, inputs * outputs), noise(23, inputs * outputs));
        let rows = 21;
        let bytes = lit_bytes(29, rows, inputs, fraction);
        let lit = LitPixels::from_bytes(&bytes, inputs);
        let batch: Vec<u32> = (0..rows as u32).collect();
        let mut delta = noise(31, rows * outputs);
        delta.extend([f32::NAN; LANES]); // slack the blocks read and ignore
        let mut columns = BatchColumns::new(inputs, lit.most_lit_tiles(rows));
        columns.index(&lit, &batch);
        for slice_rows in [STEP_ROWS, 8] {
            let mut input = InputLayer::new(&l, &first, &second);
            input.simd = simd;
            // Slices of 8 rows: 21 rows are summed in three slices into the stored gradient.
            input.slice_rows = slice_rows;
            input.reserve(rows);
            // An update that uses all four operands, so a misplaced one shows.
            input.step(&columns, &delta, None, |w, g, m, v| {
                *m += g;
                *v -= 2.0 * g;
                *w += 0.5 * *m - 0.25 * *v + g;
            });
            let (m_got, v_got) = input.moments();
            let w_got = input.weights();
            for o in 0..outputs {
                for k in 0..inputs {
                    let mut g = 0.0f64;
                    for r in 0..rows {
                        let x = f64::from(bytes[r * inputs + k]) / 255.0;
                        g += x * f64::from(delta[r * outputs + o]);
                    }
                    let i = o * inputs + k;
                    let m = f64::from(first[i]) + g;
                    let v = f64::from(second[i]) - 2.0 * g;
                    let w = f64::from(l.weights[i]) + 0.5 * m - 0.25 * v + g;
                    // 21 f32 terms of |x·δ| < 1 and a few more roundings: 1e-5 is ample.
                    for (what, got, want) in
                        [("m", m_got[i], m), ("v", v_got[i], v), ("w", w_got[i], w)]
                    {
                        assert!(
                            (f64::from(got) - want).abs() <= 1e-5,
                            "{inputs}-{outputs} lit {fraction} {simd:?} slices of {slice_rows}: {what}[{o}][{k}] {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn weights_and_moments_round_trip_through_the_pixel_major_layout() {
    let l = layer(29, 131, 37);
    let (first, second) = (noise(41, 29 * 131), noise(43, 29 * 131));
    let input = InputLayer::new(&l, &first, &second);
    assert_eq!(input.weights(), l.weights);
    assert_eq!(input.moments(), (first, second));
}
