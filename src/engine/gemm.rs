//! Safe row-major matrix views over the `gemm` crate's strided f32 kernels (SIMD microkernels,
//! multithreaded with rayon). Transposes are strides, never copies.

/// A mutable row-major matrix view with `cols` columns.
pub struct Mat<'a> {
    data: &'a mut [f32],
    cols: usize,
}

impl<'a> Mat<'a> {
    pub fn rows(data: &'a mut [f32], cols: usize) -> Self {
        Mat { data, cols }
    }
}

/// A read-only matrix view: row-major `rows × cols`, or the transpose of a row-major matrix.
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    data: &'a [f32],
    /// Columns of the stored (row-major) matrix.
    stored_cols: usize,
    transposed: bool,
}

impl<'a> MatRef<'a> {
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        MatRef {
            data,
            stored_cols: cols,
            transposed: false,
        }
    }

    /// The transpose of the row-major matrix `data` with `stored_cols` columns.
    pub fn transposed(data: &'a [f32], stored_cols: usize) -> Self {
        MatRef {
            data,
            stored_cols,
            transposed: true,
        }
    }

    /// `(rows, cols, row stride, col stride)` of the logical matrix.
    fn shape(&self) -> (usize, usize, isize, isize) {
        let stored_rows = self.data.len() / self.stored_cols;
        let c = self.stored_cols as isize;
        if self.transposed {
            (self.stored_cols, stored_rows, 1, c)
        } else {
            (stored_rows, self.stored_cols, c, 1)
        }
    }
}

/// `dst = lhs·rhs`, or `dst += scale·lhs·rhs` when `accumulate` is `Some(scale)`.
pub fn gemm(dst: Mat<'_>, lhs: MatRef<'_>, rhs: MatRef<'_>, accumulate: Option<f32>) {
    let (m, k, lhs_rs, lhs_cs) = lhs.shape();
    let (k2, n, rhs_rs, rhs_cs) = rhs.shape();
    assert_eq!(k, k2, "inner dimensions of a product differ");
    assert_eq!(dst.cols, n, "product has the wrong number of columns");
    assert_eq!(
        dst.data.len(),
        m * n,
        "product has the wrong number of rows"
    );
    let (read_dst, beta) = match accumulate {
        Some(scale) => (true, scale),
        None => (false, 1.0),
    };
    // Below ~1M multiply-adds, handing work to other threads costs more than it saves.
    let parallelism = if m * n * k < 1 << 20 {
        gemm::Parallelism::None
    } else {
        gemm::Parallelism::Rayon(0)
    };
    // SAFETY: the asserts above keep every index the kernel touches inside the three slices
    // (m·n for dst, m·k and k·n for the operands, with the strides of their shapes), and `dst`
    // is a unique borrow that does not alias the operands.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr(),
            1,
            n as isize,
            read_dst,
            lhs.data.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.data.as_ptr(),
            rhs_cs,
            rhs_rs,
            1.0,
            beta,
            false,
            false,
            false,
            parallelism,
        );
    }
}
