//! Parameter initialisers: PyTorch's default U(−1/√H, 1/√H), Xavier/Glorot uniform, orthogonal.
//! Values are drawn in f64 from the one seeded `Rng`, in layout order, then rounded to f32, so a
//! seed gives the same parameters bit for bit on every backend.

use crate::cell::options::PEEPHOLES;
use crate::cell::Recurrence;
use crate::params::{block_param_count, cell_params};
use crate::rng::Rng;
use crate::spec::{DenseSpec, RecurrentSpec, WeightInit};

/// Fills one block's flat params (layout `params::block_layout`) per `spec.weight_init` (weight_ih)
/// and `spec.recurrent_init` (weight_hh). Uniform: every weight and bias ~ U(−1/√H, 1/√H).
/// Xavier: each gate's [H, fan_in] block ~ U(±√(6/(fan_in+H))), biases 0. Orthogonal: each gate's
/// H×H block of weight_hh orthogonal (QR of a normal matrix with sign correction), biases 0.
/// Biases (and LSTM peephole weights) keep PyTorch's uniform only when both inits are Uniform; any
/// Xavier/Orthogonal choice zeroes them (the Keras convention those initialisers come from).
pub fn init_block(spec: &RecurrentSpec, params: &mut [f32], rng: &mut Rng) {
    assert_eq!(params.len(), block_param_count(spec), "init_block: params must hold the whole block");
    let h = spec.hidden_size;
    let gates = spec.cell.gates();
    let g = gates * h;
    let k = 1.0 / (h as f64).sqrt();
    let uniform_bias = spec.weight_init == WeightInit::Uniform && spec.recurrent_init == WeightInit::Uniform;
    for layer in 0..spec.num_layers {
        for dir in 0..spec.directions() {
            let c = cell_params(spec, layer, dir);
            let w_ih = &mut params[c.w_ih..c.w_ih + g * c.input_size];
            fill_gates(w_ih, spec.weight_init, gates, h, c.input_size, k, rng);
            let h_cols = spec.state_size();
            let w_hh = &mut params[c.w_hh..c.w_hh + g * spec.cell.recurrence().weight_cols(h_cols)];
            if spec.cell.recurrence() == Recurrence::Diagonal {
                // IndRNN's u ~ U(0, 1), as the authors' code initialises it (Sunnydreamrain/
                // IndRNN_pytorch, `reset_parameters`), drawn within `recurrent_max_abs` when smaller.
                let hi = spec.recurrent_max_abs.map_or(1.0, |b| b.min(1.0));
                w_hh.iter_mut().for_each(|u| *u = rng.uniform(0.0, hi) as f32);
            } else {
                fill_gates(w_hh, spec.recurrent_init, gates, h, h_cols, k, rng);
            }
            // Peephole weights are one value per unit, like a bias, and are drawn like one (after
            // the biases, so a layer without them draws exactly what it did before they existed).
            let peephole = c.peephole.map(|p| (p, PEEPHOLES * h));
            for (b, n) in [c.b_ih.map(|b| (b, g)), c.b_hh.map(|b| (b, g)), peephole].into_iter().flatten() {
                let bias = &mut params[b..b + n];
                if uniform_bias {
                    fill_uniform(bias, k, rng);
                } else {
                    bias.fill(0.0);
                }
            }
            if let Some(w) = c.w_hr {
                // The projection, last as in PyTorch's order: U(±1/√H) like every LSTM tensor there.
                let w_hr = &mut params[w..w + spec.options.proj_size * h];
                fill_gates(w_hr, spec.weight_init, 1, spec.options.proj_size, h, k, rng);
            }
        }
    }
}

/// `nn.Linear` default: weight and bias ~ U(−1/√in, 1/√in).
pub fn init_dense(spec: &DenseSpec, params: &mut [f32], rng: &mut Rng) {
    let n = spec.units * spec.in_features + if spec.bias { spec.units } else { 0 };
    assert_eq!(params.len(), n, "init_dense: params must hold weight and bias");
    // kaiming_uniform_(a=√5) gives exactly 1/√fan_in for the weight; the bias uses the same bound.
    let k = 1.0 / (spec.in_features as f64).sqrt();
    fill_uniform(params, k, rng);
}

/// A [gates·rows, cols] weight, one [rows, cols] gate block at a time.
fn fill_gates(w: &mut [f32], init: WeightInit, gates: usize, rows: usize, cols: usize, k: f64, rng: &mut Rng) {
    match init {
        WeightInit::Uniform => fill_uniform(w, k, rng),
        WeightInit::Xavier => fill_uniform(w, (6.0 / (rows + cols) as f64).sqrt(), rng),
        WeightInit::Orthogonal => {
            for block in w.chunks_exact_mut(rows * cols) {
                for (dst, src) in block.iter_mut().zip(orthogonal(rows, cols, rng)) {
                    *dst = src as f32;
                }
            }
            debug_assert_eq!(w.len(), gates * rows * cols);
        }
    }
}

fn fill_uniform(xs: &mut [f32], bound: f64, rng: &mut Rng) {
    for x in xs {
        *x = rng.uniform(-bound, bound) as f32;
    }
}

/// A row-major [rows, cols] matrix with orthonormal rows (rows ≤ cols) or columns (rows ≥ cols),
/// drawn like `torch.nn.init.orthogonal_`: QR of a standard normal matrix (transposed when wide), with
/// Q's columns multiplied by sign(diag R). Gram–Schmidt yields R with a positive diagonal, which is
/// exactly that sign-corrected Q; orthogonalising twice ("twice is enough") keeps QᵀQ = I to ~1e-15
/// even for ill-conditioned draws.
pub fn orthogonal(rows: usize, cols: usize, rng: &mut Rng) -> Vec<f64> {
    // Work on a tall n×m matrix stored as m columns of length n.
    let (n, m) = if rows >= cols { (rows, cols) } else { (cols, rows) };
    'draw: loop {
        // Row-major fill of the tall matrix, so the draw order matches reading A[i][j] row by row.
        let mut a = vec![vec![0.0f64; n]; m];
        for i in 0..n {
            for col in a.iter_mut() {
                col[i] = rng.normal();
            }
        }
        for j in 0..m {
            for _pass in 0..2 {
                for p in 0..j {
                    let (done, rest) = a.split_at_mut(j);
                    let q = &done[p];
                    let dot: f64 = q.iter().zip(&rest[0]).map(|(x, y)| x * y).sum();
                    rest[0].iter_mut().zip(q).for_each(|(y, x)| *y -= dot * x);
                }
            }
            let norm = a[j].iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm < 1e-10 {
                continue 'draw; // probability zero for a normal draw; redraw rather than divide by ~0
            }
            a[j].iter_mut().for_each(|x| *x /= norm);
        }
        // Q is n×m with columns a[j]. Tall: out[i][j] = Q[i][j]; wide: out = Qᵀ, out[j][i] = Q[i][j].
        let mut out = vec![0.0; rows * cols];
        for i in 0..n {
            for (j, col) in a.iter().enumerate() {
                if rows >= cols {
                    out[i * cols + j] = col[i];
                } else {
                    out[j * cols + i] = col[i];
                }
            }
        }
        return out;
    }
}
