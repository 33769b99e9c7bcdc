//! The kernel table: every hot loop of rnnkit behind one struct of safe fn pointers, filled with
//! scalar kernels and then overlaid tier by tier with the best the CPU supports (tract's `plug`).
//! Cells, layers and optimizers call through `kernels()` and never name an instruction set.
//! Layout: lanes.rs (the SIMD trait), math.rs (the one exp/sigmoid/tanh), generic.rs (slice bodies),
//! pack.rs + gemm.rs (BLIS-shaped SGEMM), cells.rs (the fused cell steps), then one thin file per
//! tier: scalar, avx2, avx512, simd128.

#[cfg(target_arch = "x86_64")]
#[macro_use]
mod x86_tier;
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod cells;
mod denormals;
mod gemm;
mod generic;
pub mod isa;
mod lanes;
mod math;
mod pack;
pub mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

use std::sync::OnceLock;

use crate::error::{Error, Result};
pub use denormals::FlushDenormals;
pub use gemm::PackedB;
pub(crate) use gemm::MAX_NR;
pub use cells::{pack_row_weights, RowWeights};
pub use isa::Isa;

/// Row-major `C ← α·op(A)·op(B) + β·C` (see `Real::gemm` for the full contract).
pub type SgemmFn = fn(bool, bool, usize, usize, usize, f32, &[f32], usize, &[f32], usize, f32, &mut [f32], usize);

/// `(ta, m, j0, n, k, α, a, lda, b, β, c, ldc)`: `C[:, 0..n] ← α·op(A)·op(B)[:, j0..j0+n] + β·C` with B
/// pre-packed by the same table's `pack_b`; `j0` a multiple of `b.nr()`, `c` starting at column j0's
/// element. Bit-identical to `sgemm` on the same operands.
pub type SgemmPackedFn = fn(bool, usize, usize, usize, usize, f32, &[f32], usize, &PackedB, f32, &mut [f32], usize);

/// Fused LSTM step `(batch, H, active, gates, c_prev, c, tanh_c, h_prev, h)`: see `cells::lstm_forward`.
pub type LstmForwardFn = fn(usize, usize, &[bool], &mut [f32], &[f32], &mut [f32], &mut [f32], &[f32], &mut [f32]);
/// One row's LSTM step with the recurrent product fused in, `(H, active, reverse, w, gates, c_prev,
/// c, tanh_c, h_prev, h)`, `w` packed by `cells::pack_row_weights` for the table's `lanes`: see
/// `cells::lstm_row_step`.
pub type LstmRowStepFn = fn(usize, bool, bool, &[f32], &mut [f32], &[f32], &mut [f32], &mut [f32], &[f32], &mut [f32]);
/// The GRU one, `(H, active, reverse, w, b_hn, gates, h_prev, h, hn)`: see `cells::gru_row_step`.
pub type GruRowStepFn = fn(usize, bool, bool, &[f32], &[f32], &mut [f32], &[f32], &mut [f32], &mut [f32]);
/// `(batch, H, active, gates, tanh_c, c_prev, dh, dc, dgx, dh_prev)`: see `cells::lstm_backward`.
pub type LstmBackwardFn = fn(usize, usize, &[bool], &[f32], &[f32], &[f32], &[f32], &mut [f32], &mut [f32], &mut [f32]);
/// Fused GRU step `(batch, H, active, gates, gh, b_hn, h_prev, h, hn)`: see `cells::gru_forward`.
pub type GruForwardFn = fn(usize, usize, &[bool], &mut [f32], &[f32], &[f32], &[f32], &mut [f32], &mut [f32]);
/// `(batch, H, active, gates, hn, h_prev, dh, dgx, dgh, dh_prev)`: see `cells::gru_backward`.
pub type GruBackwardFn = fn(usize, usize, &[bool], &[f32], &[f32], &[f32], &[f32], &mut [f32], &mut [f32], &mut [f32]);

/// `(tb, k, n, b, ldb, out)`: packs op(B) (k×n; `tb`: B stored n×k) for `sgemm_packed`, reusing `out`'s buffer.
pub type PackBFn = fn(bool, usize, usize, &[f32], usize, &mut PackedB);

#[derive(Clone, Copy)]
pub struct Kernels {
    pub isa: Isa,
    /// f32 lanes of the tier's vectors (1 for scalar).
    pub lanes: usize,
    pub sgemm: SgemmFn,
    /// GEMM against a B packed once (weights): no packing of B inside the call.
    pub sgemm_packed: SgemmPackedFn,
    pub pack_b: PackBFn,
    /// Which micro-kernel `sgemm` runs, `{isa}_sgemm_{MR}x{NR}`, for logs and failing tests.
    pub sgemm_name: &'static str,
    /// In place: x ← e^x. Inputs are clamped to [−87.3, 88.3], so finite x never gives inf; NaN stays NaN.
    pub exp: fn(&mut [f32]),
    /// In place: x ← 1 / (1 + e^(−x)).
    pub sigmoid: fn(&mut [f32]),
    /// In place: x ← tanh(x).
    pub tanh: fn(&mut [f32]),
    /// y ← a·x + y (over the first min(|x|, |y|) elements).
    pub axpy: fn(f32, &[f32], &mut [f32]),
    /// Σ x_i·y_i (over the first min(|x|, |y|) elements).
    pub dot: fn(&[f32], &[f32]) -> f32,
    /// The element-wise half of one LSTM / GRU time step over all batch rows, and its BPTT.
    pub lstm_forward: LstmForwardFn,
    pub lstm_row_step: LstmRowStepFn,
    pub lstm_backward: LstmBackwardFn,
    pub gru_forward: GruForwardFn,
    pub gru_row_step: GruRowStepFn,
    pub gru_backward: GruBackwardFn,
}

impl Kernels {
    /// Every slot valid, no SIMD: the oracle every other tier is tested against.
    pub fn scalar() -> Kernels {
        Kernels {
            isa: Isa::Scalar,
            lanes: 1,
            sgemm: scalar::sgemm,
            sgemm_packed: scalar::sgemm_packed,
            pack_b: scalar::pack_b,
            sgemm_name: "scalar_sgemm_4x4",
            exp: scalar::exp,
            sigmoid: scalar::sigmoid,
            tanh: scalar::tanh,
            axpy: scalar::axpy,
            dot: scalar::dot,
            lstm_forward: cells::lstm_forward::<f32>,
            lstm_row_step: scalar::lstm_row_step,
            lstm_backward: cells::lstm_backward::<f32>,
            gru_forward: cells::gru_forward::<f32>,
            gru_row_step: scalar::gru_row_step,
            gru_backward: cells::gru_backward::<f32>,
        }
    }

    /// The table for one tier; an unsupported tier is an error, never a silent fallback.
    pub fn for_isa(isa: Isa) -> Result<Kernels> {
        if !isa.is_supported() {
            return Err(Error::Unsupported { feature: format!("instruction set {} on this CPU or build", isa.name()) });
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return Ok(simd128::table());
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        {
            Ok(Kernels::overlaid(isa))
        }
    }

    /// Scalar, then each tier's `plug` up to `isa` (x86_64), so every slot is valid.
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    fn overlaid(isa: Isa) -> Kernels {
        let mut k = Kernels::scalar(); // every slot valid before any overlay
        #[cfg(target_arch = "x86_64")]
        {
            if isa >= Isa::Avx2 {
                avx2::plug(&mut k);
            }
            if isa >= Isa::Avx512 {
                avx512::plug(&mut k);
            }
        }
        k.isa = isa;
        k
    }
}

static KERNELS: OnceLock<Result<Kernels>> = OnceLock::new();

/// Selects the table once: `RNNKIT_ISA=scalar|avx2|avx512|simd128` forces a tier, else the best supported.
/// Called by `Model` construction so a bad forced tier surfaces as an error.
pub fn init_kernels() -> Result<&'static Kernels> {
    KERNELS
        .get_or_init(|| {
            let forced = std::env::var("RNNKIT_ISA").ok().filter(|s| !s.is_empty());
            match forced {
                Some(name) => Isa::from_name(&name).and_then(Kernels::for_isa),
                None => Kernels::for_isa(Isa::best()),
            }
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The selected table. If selection failed (a bad `RNNKIT_ISA`), models refuse to construct, so
/// reaching here then means a direct caller skipped `init_kernels`; scalar serves (the SIMD128
/// module, which has no scalar tier, serves its own).
pub fn kernels() -> &'static Kernels {
    static FALLBACK: OnceLock<Kernels> = OnceLock::new();
    match init_kernels() {
        Ok(k) => k,
        Err(_) => FALLBACK.get_or_init(|| {
            Kernels::for_isa(Isa::Scalar).or_else(|_| Kernels::for_isa(Isa::best())).expect("a supported tier always builds")
        }),
    }
}
