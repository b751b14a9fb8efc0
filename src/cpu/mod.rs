//! CPU twins of the WGSL kernels in `shaders/`, name for name: plain loops that compute exactly
//! what each kernel computes, so kernel tests can compare the two on the same inputs.
