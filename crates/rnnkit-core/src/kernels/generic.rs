//! ISA-generic slice kernels over `Lanes`: element-wise activations, axpy and dot. Each ISA file
//! instantiates these inside its own `#[target_feature]` entry; `#[inline(always)]` makes the body
//! compile with that feature. Tails run through the same vector formula on a zero-padded stack
//! buffer, so element i's result never depends on the slice length or the tier's lane count.

use super::lanes::{Lanes, MAX_LANES};
use super::math;

/// An element-wise function from math.rs, named by a type so generic bodies call it statically:
/// passing a fn item instead goes through a call shim compiled without the entry's target features,
/// which leaves every intrinsic an out-of-line call (measured 10× slower in benches/kernels.rs).
pub(crate) trait Unary {
    fn apply<L: Lanes>(x: L) -> L;
}

pub(crate) struct Exp;
pub(crate) struct Sigmoid;
pub(crate) struct Tanh;

impl Unary for Exp {
    #[inline(always)]
    fn apply<L: Lanes>(x: L) -> L { math::exp(x) }
}
impl Unary for Sigmoid {
    #[inline(always)]
    fn apply<L: Lanes>(x: L) -> L { math::sigmoid(x) }
}
impl Unary for Tanh {
    #[inline(always)]
    fn apply<L: Lanes>(x: L) -> L { math::tanh(x) }
}

/// Applies `F` to every element of `xs` in place.
#[inline(always)]
pub(crate) fn map<L: Lanes, F: Unary>(xs: &mut [f32]) {
    let mut chunks = xs.chunks_exact_mut(L::LANES);
    for c in &mut chunks {
        F::apply(L::load(c)).store(c);
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        let mut buf = [0.0f32; MAX_LANES];
        buf[..tail.len()].copy_from_slice(tail);
        F::apply(L::load(&buf)).store(&mut buf);
        tail.copy_from_slice(&buf[..tail.len()]);
    }
}

#[inline(always)]
pub(crate) fn exp<L: Lanes>(xs: &mut [f32]) {
    map::<L, Exp>(xs)
}

#[inline(always)]
pub(crate) fn sigmoid<L: Lanes>(xs: &mut [f32]) {
    map::<L, Sigmoid>(xs)
}

#[inline(always)]
pub(crate) fn tanh<L: Lanes>(xs: &mut [f32]) {
    map::<L, Tanh>(xs)
}

/// y ← a·x + y over the first min(|x|, |y|) elements.
#[inline(always)]
pub(crate) fn axpy<L: Lanes>(a: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &mut y[..n]);
    let av = L::splat(a);
    let mut yc = y.chunks_exact_mut(L::LANES);
    let mut xc = x.chunks_exact(L::LANES);
    for (yv, xv) in (&mut yc).zip(&mut xc) {
        L::load(xv).fma(av, L::load(yv)).store(yv);
    }
    for (yi, xi) in yc.into_remainder().iter_mut().zip(xc.remainder()) {
        *yi = fma1::<L>(*xi, a, *yi);
    }
}

/// Σ x_i·y_i over the first min(|x|, |y|) elements. Four independent accumulators hide FMA latency;
/// the summation order is fixed for a given tier, so results are deterministic.
#[inline(always)]
pub(crate) fn dot<L: Lanes>(x: &[f32], y: &[f32]) -> f32 {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let w = 4 * L::LANES;
    let mut acc = [L::splat(0.0); 4];
    let mut xc = x.chunks_exact(w);
    let mut yc = y.chunks_exact(w);
    for (xb, yb) in (&mut xc).zip(&mut yc) {
        for (j, a) in acc.iter_mut().enumerate() {
            let s = j * L::LANES;
            *a = L::load(&xb[s..]).fma(L::load(&yb[s..]), *a);
        }
    }
    let (xr, yr) = (xc.remainder(), yc.remainder());
    let mut xv = xr.chunks_exact(L::LANES);
    let mut yv = yr.chunks_exact(L::LANES);
    for (xb, yb) in (&mut xv).zip(&mut yv) {
        acc[0] = L::load(xb).fma(L::load(yb), acc[0]);
    }
    let mut sum = acc[0].add(acc[1]).add(acc[2].add(acc[3])).hsum();
    for (a, b) in xv.remainder().iter().zip(yv.remainder()) {
        sum = fma1::<L>(*a, *b, sum);
    }
    sum
}

/// One element through the tier's own `fma` (fused iff `L::fma` is), for scalar tails.
#[inline(always)]
fn fma1<L: Lanes>(a: f32, b: f32, c: f32) -> f32 {
    let mut buf = [0.0f32; MAX_LANES];
    L::splat(a).fma(L::splat(b), L::splat(c)).store(&mut buf);
    buf[0]
}
