//! The tiles' reads without bounds checks, and what keeps them in bounds.
//!
//! A bounds check per read in a tile's inner loop costs LLVM the registers that hold the row
//! pointers: it then spilled them and broadcast two of the four inputs through a shuffle, which
//! competes with the multiply-adds for the vector ports. So each tile checks once, before its
//! loop, what bounds every read of the loop (see `forward_tile` and `gradient_tile`), and reads
//! through these two functions; each call says which of those checks makes it sound.

/// `values[i]`, unchecked.
///
/// # Safety
///
/// `i < values.len()`.
#[inline(always)]
pub(super) unsafe fn get<T>(values: &[T], i: usize) -> &T {
    // SAFETY: the caller keeps `i` within `values`.
    unsafe { values.get_unchecked(i) }
}

/// The `N` values of `values` from `at` as one block, unchecked.
///
/// # Safety
///
/// `at + N <= values.len()`.
#[inline(always)]
pub(super) unsafe fn block<const N: usize>(values: &[f32], at: usize) -> &[f32; N] {
    // SAFETY: the caller keeps `at..at + N` within `values`; `[f32; N]` has `f32`'s alignment.
    unsafe { &*values.as_ptr().add(at).cast::<[f32; N]>() }
}
