//! Twin of `shaders/max_norm.wgsl`: each unit's incoming weights scaled back onto the L2 ball
//! of radius `layer.max_norm` when their norm exceeds it ([`clip_rows`]).

use super::{Dispatch, f32s, put};
use crate::optim::max_norm::clip_rows;

/// The kernel on its bindings (see [`super::Twin`]).
pub fn max_norm(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let layer = &d.layer;
    let mut parameters = f32s(&storage[0]);
    let weights = (layer.outputs * layer.inputs) as usize;
    clip_rows(
        &mut parameters[..weights],
        layer.inputs as usize,
        layer.max_norm,
    );
    put(&mut storage[0], &parameters);
}
