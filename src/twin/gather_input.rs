//! Twin of `shaders/gather_input.wgsl`: each batch row's image read through the order, put
//! through the batch's input noise ([`NoiseParams::apply`], keyed by [`InputNoise::keys`] of
//! the batch's round and index) and written back packed at the same image's slot.

use super::{Dispatch, put, u32s};
use crate::kernel_params::pack_images;
use crate::ops::augment::InputNoise;
#[cfg(doc)]
use crate::ops::augment::NoiseParams;

/// The kernel on its bindings (see [`super::Twin`]).
pub fn gather_input(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let (images, order) = (u32s(&storage[0]), u32s(&storage[1]));
    let mut augmented = u32s(&storage[2]);
    let (words, pixels) = (layer.words as usize, layer.inputs as usize);
    let seed = u64::from(batch.seed_lo) | (u64::from(batch.seed_hi) << 32);
    let keys = InputNoise::keys(seed, batch.round as usize, batch.index as usize);
    let noise = batch.noise();
    let mut out = vec![0u8; pixels];
    for row in 0..batch.rows as usize {
        let base = order[batch.first as usize + row] as usize * words;
        let image: Vec<u8> = bytemuck::cast_slice(&images[base..base + words])[..pixels].to_vec();
        noise.apply(keys, row as u32, &image, &mut out);
        augmented[base..base + words].copy_from_slice(&pack_images(&out, pixels));
    }
    put(&mut storage[2], &augmented);
}
