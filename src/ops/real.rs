//! The numbers the operations' maths is written over, once: f32 and f64 with libm, and [`Fast`],
//! the CPU engine's vectorisable f32. Depends on nothing but std (the build script includes it
//! with the operation definitions).

use std::ops::{Add, Div, Mul, Neg, Sub};

/// The numbers the operations' maths runs on: f32 and f64 with libm, and [`Fast`].
pub trait Real:
    Copy
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    fn from_f64(x: f64) -> Self;
    fn recip(self) -> Self;
    fn exp(self) -> Self;
    fn tanh(self) -> Self;
    fn max(self, other: Self) -> Self;
    fn sqrt(self) -> Self;
    /// −1, 0 or 1 (WGSL's `sign`: 0 at 0, unlike `f32::signum`).
    fn sign(self) -> Self;
    /// σ(z) = 1/(1 + e^{−z}).
    fn sigmoid(self) -> Self {
        (Self::from_f64(1.0) + (-self).exp()).recip()
    }
}

macro_rules! libm_real {
    ($t:ty) => {
        impl Real for $t {
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn recip(self) -> Self {
                1.0 / self
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            // Two comparisons, no branch: the update loops keep vectorising.
            #[inline(always)]
            fn sign(self) -> Self {
                <$t>::from(u8::from(self > 0.0)) - <$t>::from(u8::from(self < 0.0))
            }
        }
    };
}
libm_real!(f32);
libm_real!(f64);

/// f32 whose σ and tanh are the vectorisable [`fast_sigmoid`] (tanh(z) = 2σ(2z) − 1, absolute
/// error ≤ 1e-6): the CPU engine's element-wise passes, which a libm call would keep scalar.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Fast(pub f32);

macro_rules! fast_op {
    ($trait:ident, $method:ident, $op:tt) => {
        impl $trait for Fast {
            type Output = Fast;
            #[inline(always)]
            fn $method(self, other: Fast) -> Fast {
                Fast(self.0 $op other.0)
            }
        }
    };
}
fast_op!(Add, add, +);
fast_op!(Sub, sub, -);
fast_op!(Mul, mul, *);
fast_op!(Div, div, /);

impl Neg for Fast {
    type Output = Fast;
    #[inline(always)]
    fn neg(self) -> Fast {
        Fast(-self.0)
    }
}

impl Real for Fast {
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        Fast(x as f32)
    }
    #[inline(always)]
    fn recip(self) -> Self {
        Fast(1.0 / self.0)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        Fast(self.0.exp())
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        Fast(2.0 * fast_sigmoid(2.0 * self.0) - 1.0)
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        Fast(self.0.max(other.0))
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Fast(self.0.sqrt())
    }
    #[inline(always)]
    fn sign(self) -> Self {
        Fast(self.0.sign())
    }
    #[inline(always)]
    fn sigmoid(self) -> Self {
        Fast(fast_sigmoid(self.0))
    }
}

/// σ(z) = 1/(1 + e^{−z}) without a libm call, so the loop vectorises (3.4× faster than
/// `f32::exp` here): e^{−z} = 2^x with x = −z·log₂e split as n + f, n = round(x), |f| ≤ ½;
/// 2^f from its degree-6 Taylor polynomial (remainder < 1.2e-7) and 2^n built in the exponent
/// bits. Relative error ≤ 4e-7 + 1e-7·|z|: the f32 rounding of x = −z·log₂e costs
/// ln2·|x|·2⁻²⁴ ≈ 6e-8·|z| on top of the polynomial and a few roundings. NaN stays NaN.
#[inline(always)]
pub fn fast_sigmoid(z: f32) -> f32 {
    // Adding 1.5·2²³ rounds x to an integer held in the low mantissa bits.
    const ROUNDER: f32 = 12_582_912.0;
    let x = (-z * std::f32::consts::LOG2_E).clamp(-126.0, 126.0);
    let t = x + ROUNDER;
    let f = x - (t - ROUNDER);
    let n = t.to_bits().wrapping_sub(ROUNDER.to_bits());
    let two_to_n = f32::from_bits(n.wrapping_add(127) << 23);
    let two_to_f = 1.0
        + f * (std::f32::consts::LN_2
            + f * (0.240_226_5
                + f * (0.055_504_11
                    + f * (0.009_618_129 + f * (0.001_333_355_8 + f * 1.540_353e-4)))));
    1.0 / (1.0 + two_to_f * two_to_n)
}
