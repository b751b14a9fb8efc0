//! The wgpu engine: WGSL compute kernels over data resident in GPU buffers.
