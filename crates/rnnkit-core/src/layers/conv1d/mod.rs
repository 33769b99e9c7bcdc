//! `Conv1D`: `nn.Conv1d` over a sequence [T, B, C_in] → [T_out, B, C_out] (kernel_size, stride,
//! dilation, groups incl. depthwise, bias), padding "valid" | "same" | "causal" and an optional
//! activation after the bias. Forward is im2col + one GEMM per group, backward one GEMM per group
//! for dW and one for the columns' gradient, then col2im; a depthwise conv runs a direct kernel
//! (`depthwise.rs`). The packed weight lives until `Forward::params_version` changes, and the large
//! buffers are reused from call to call (`Spare`).
//!
//! Lengths: input steps past a sequence's length read as zeros, its output length maps through
//! the window (`Window::out_length`) and output steps past it are zero. A causal stride-1 conv
//! streams: its state "history" [dilation·(kernel−1), B, C_in] holds the input steps before t = 0
//! (zeros when not given), and the final state is each sequence's last such steps (ending at its
//! length). Inputs shorter than `min_steps()` have no output: the network must check that first.

mod depthwise;
mod im2col;

use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::json::Json;
use crate::real::Real;
use crate::rng::Rng;
use crate::spare::Spare;

use super::activation::{activation_backward, activation_forward, Activation};
use super::dense::zero_past_lengths;
use super::window::{window_steps, Padding, Window};
use super::{input_features, Forward, Layer, LayerGrads, LayerX, ParamShape, Shape, StateInfo};
use im2col::{permute_weight, Geometry};

/// What backward reads the input through.
enum Saved<R> {
    /// The im2col matrix (GEMM path).
    Col(Vec<R>),
    /// The input and initial history (depthwise path: no columns at all).
    Input { x: Vec<R>, history: Option<Vec<R>> },
}

struct Cache<R> {
    saved: Saved<R>,
    /// The forward's params_version: backward reads the weight packed for it.
    version: u64,
    z: Vec<R>,
    y: Vec<R>,
    seq_len: usize,
    batch: usize,
    lengths: Option<Vec<usize>>,
    out_lengths: Option<Vec<usize>>,
}

pub struct Conv1D<R> {
    in_channels: usize,
    out_channels: usize,
    groups: usize,
    win: Window,
    bias: bool,
    activation: Activation,
    cache: Option<Cache<R>>,
    /// (params_version, the weight packed for this layer's path): see `pack_weight`.
    packed: Option<(u64, Vec<R>)>,
    /// The last training forward's buffers and backward's scratch, for the next call.
    spare: Spare<R>,
}

/// Checked product (sizes come from configs and inputs: never wrap, never over-allocate silently).
fn product(what: &str, xs: &[usize]) -> usize {
    xs.iter().try_fold(1usize, |a, &x| a.checked_mul(x)).unwrap_or_else(|| panic!("Conv1D: {what} size {xs:?} overflows usize"))
}

impl<R: Real> Conv1D<R> {
    pub fn from_config(config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        let f = Fields::new(config, path, &["in_channels", "out_channels", "kernel_size", "stride", "dilation", "groups", "padding", "bias", "activation"])?;
        let in_channels = input_features(&f, "in_channels", input, true)?;
        let out_channels = f.size("out_channels", None, 1)?;
        let win = Window::from_fields(&f, "kernel_size", true, Padding::NAMES)?;
        let groups = f.size("groups", Some(1), 1)?;
        for (key, n) in [("in_channels", in_channels), ("out_channels", out_channels)] {
            if n % groups != 0 {
                return Err(Error::value(f.path("groups"), format!("must divide {key} ({n}), got {groups}")));
            }
        }
        if win.padding == Padding::Same && win.stride != 1 {
            return Err(Error::value(f.path("stride"), format!("padding \"same\" needs stride 1 (as in PyTorch), got {}", win.stride)));
        }
        let activations: Vec<(&str, Activation)> = Activation::NAMES.iter().copied().filter(|(_, a)| *a != Activation::Softmax).collect();
        let activation = f.choice("activation", Some("identity"), &activations)?;
        let bias = f.boolean("bias", true)?;
        let weights = out_channels.checked_mul(in_channels / groups).and_then(|n| n.checked_mul(win.kernel)).filter(|&n| n <= i32::MAX as usize);
        if weights.is_none() {
            return Err(Error::value(f.path("kernel_size"), format!("out_channels·in_channels/groups·kernel_size = {out_channels}·{}·{} weights is too many (at most 2^31)", in_channels / groups, win.kernel)));
        }
        Ok(Conv1D { in_channels, out_channels, groups, win, bias, activation, cache: None, packed: None, spare: Spare::default() })
    }

    fn cg(&self) -> usize {
        self.in_channels / self.groups
    }

    fn weight_len(&self) -> usize {
        self.out_channels * self.cg() * self.win.kernel
    }

    /// Rows of the history state (0: no state).
    fn history_rows(&self) -> usize {
        if self.win.padding == Padding::Causal && self.win.stride == 1 { self.win.span() - 1 } else { 0 }
    }

    fn geometry<'a>(&self, seq_len: usize, batch: usize, lengths: Option<&'a [usize]>) -> Geometry<'a> {
        Geometry { win: self.win, seq_len, batch, channels: self.in_channels, groups: self.groups, lengths, history: self.history_rows() }
    }

    /// Depthwise (one input channel per group) with more than one channel: the direct kernel. With
    /// in_channels = 1 the GEMM (n = out_channels) is the better shape. B=32 T=200 C=40 k=5,
    /// forward + backward at one thread: 0.88 ms direct vs 10–13 ms as GEMMs per group (PyTorch
    /// 1.13: 2.5 ms); min of 20, `tests/conv_timing.rs`.
    fn is_depthwise(&self) -> bool {
        self.groups == self.in_channels && self.in_channels > 1
    }

    /// Output channels per input channel of a depthwise conv.
    fn multiplier(&self) -> usize {
        self.out_channels / self.in_channels
    }

    /// Packs the weight for this layer's path unless it is already packed for `version`: [k, m, C]
    /// for the depthwise kernel, the column order [out, k, Cg] for the GEMM. Backward reuses the
    /// forward's.
    fn pack_weight(&mut self, params: &[R], version: u64) {
        if self.packed.as_ref().is_some_and(|(v, _)| *v == version) {
            return;
        }
        let mut wp = self.packed.take().map(|(_, wp)| wp).unwrap_or_default();
        wp.resize(self.weight_len(), R::ZERO);
        let w = &params[..self.weight_len()];
        if self.is_depthwise() {
            depthwise::pack(w, &mut wp, self.in_channels, self.multiplier(), self.win.kernel);
        } else {
            permute_weight(w, &mut wp, self.cg(), self.win.kernel, false, false);
        }
        self.packed = Some((version, wp));
    }

    fn packed_weight(&self) -> &[R] {
        &self.packed.as_ref().expect("Conv1D: the weight is packed by forward").1
    }

    /// `src` in a spare buffer.
    fn copy(&mut self, src: &[R]) -> Vec<R> {
        let mut v = self.spare.empty(src.len());
        v.extend_from_slice(src);
        v
    }

    /// Hands a replaced cache's buffers to `spare`.
    fn spare_cache(&mut self, old: Cache<R>) {
        match old.saved {
            Saved::Col(col) => self.spare.give(col),
            Saved::Input { x, history } => {
                self.spare.give(x);
                self.spare.give(history.unwrap_or_default());
            }
        }
        self.spare.give(old.z);
        self.spare.give(old.y);
    }

    /// Each sequence's last H input steps ending at its length, read through `history` before t = 0.
    fn final_history(&self, x: &[R], history: Option<&[R]>, batch: usize, lengths: &[usize]) -> Vec<R> {
        let (h, c) = (self.history_rows(), self.in_channels);
        let mut out = vec![R::ZERO; product("history", &[h, batch, c])];
        for_each_final_row(h, batch, lengths, |dst, src| {
            let row = match src {
                Ok(r) => &x[r * c..(r + 1) * c],
                Err(r) => match history {
                    Some(hb) => &hb[r * c..(r + 1) * c],
                    None => return,
                },
            };
            out[dst * c..(dst + 1) * c].copy_from_slice(row);
        });
        out
    }
}

/// For each row `i·B + b` of the final history: Ok(input row) or Err(initial history row).
fn for_each_final_row(h: usize, batch: usize, lengths: &[usize], mut f: impl FnMut(usize, std::result::Result<usize, usize>)) {
    for i in 0..h {
        for (b, &len) in lengths.iter().enumerate().take(batch) {
            // Step len + i of [history; x] (history first) is the i-th of the last h steps.
            let e = len + i;
            f(i * batch + b, if e >= h { Ok((e - h) * batch + b) } else { Err(e * batch + b) });
        }
    }
}

impl<R: Real> Layer<R> for Conv1D<R> {
    fn kind(&self) -> &'static str {
        "Conv1D"
    }

    fn config(&self) -> Json {
        let n = |v: usize| Json::Num(v as f64);
        Json::Obj(vec![
            ("in_channels".into(), n(self.in_channels)),
            ("out_channels".into(), n(self.out_channels)),
            ("kernel_size".into(), n(self.win.kernel)),
            ("stride".into(), n(self.win.stride)),
            ("dilation".into(), n(self.win.dilation)),
            ("groups".into(), n(self.groups)),
            ("padding".into(), Json::Str(self.win.padding.name().into())),
            ("bias".into(), Json::Bool(self.bias)),
            ("activation".into(), Json::Str(self.activation.name().into())),
        ])
    }

    fn input_shape(&self) -> Shape {
        Shape::Seq { features: self.in_channels }
    }

    fn output_shape(&self) -> Shape {
        Shape::Seq { features: self.out_channels }
    }

    window_steps!();

    fn params(&self) -> Vec<ParamShape> {
        let mut out = vec![ParamShape::new("weight", vec![self.out_channels, self.cg(), self.win.kernel])];
        if self.bias {
            out.push(ParamShape::new("bias", vec![self.out_channels]));
        }
        out
    }

    /// PyTorch's default: kaiming_uniform(a=√5) is U(±1/√fan_in) for the weight, and the bias uses
    /// the same bound; fan_in = in_channels/groups · kernel_size.
    fn init(&self, params: &mut [f32], rng: &mut Rng) {
        let bound = 1.0 / ((self.cg() * self.win.kernel) as f64).sqrt();
        for p in params {
            *p = rng.uniform(-bound, bound) as f32;
        }
    }

    fn states(&self, batch: usize) -> Vec<StateInfo> {
        match self.history_rows() {
            0 => Vec::new(),
            h => vec![StateInfo { name: "history", dims: vec![h, batch, self.in_channels] }],
        }
    }

    fn streams(&self) -> std::result::Result<(), String> {
        match (self.win.padding, self.win.stride) {
            (Padding::Causal, 1) => Ok(()),
            (Padding::Causal, s) => Err(format!("a strided conv (stride {s}) emits one step per {s} input steps, not one per step")),
            (p, _) => Err(format!("padding \"{}\" sees future steps; only padding \"causal\" streams", p.name())),
        }
    }

    fn forward(&mut self, params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        let LayerX::Features(x) = fwd.x else { panic!("Conv1D reads features, not token ids") };
        let (t, b, o_n) = (fwd.seq_len, fwd.batch, self.out_channels);
        assert!(t >= self.win.min_steps(), "Conv1D: an input of {t} steps is shorter than the kernel (kernel_size {}, dilation {}: {} steps); the network checks min_steps() first", self.win.kernel, self.win.dilation, self.win.span());
        let history = fwd.states.first().copied().flatten().filter(|_| self.history_rows() > 0);
        let geo = self.geometry(t, b, fwd.lengths);
        if fwd.keep {
            // A training forward replaces the cache: its buffers serve this call. (An inference
            // forward leaves it: a backward may still follow.)
            if let Some(old) = self.cache.take() {
                self.spare_cache(old);
            }
        }
        self.pack_weight(params, fwd.params_version);
        let saved = if self.is_depthwise() {
            depthwise::forward(&geo, self.multiplier(), self.packed_weight(), x, history, out);
            fwd.keep.then(|| Saved::Input { x: self.copy(x), history: history.map(<[R]>::to_vec) })
        } else {
            let (rows, width) = (product("output", &[geo.t_out(), b]), geo.width());
            let mut col = self.spare.take(product("im2col", &[rows, width]));
            geo.im2col(x, history, &mut col);
            let wp = self.packed_weight();
            let (og, kcg) = (o_n / self.groups, self.win.kernel * self.cg());
            for g in 0..self.groups {
                R::gemm(false, true, rows, og, kcg, R::ONE, &col[g * kcg..], width, &wp[g * og * kcg..], kcg, R::ZERO, &mut out[g * og..], o_n);
            }
            if fwd.keep {
                Some(Saved::Col(col))
            } else {
                self.spare.give(col);
                None
            }
        };
        if self.bias {
            let bias = &params[self.weight_len()..self.weight_len() + o_n];
            for row in out.chunks_exact_mut(o_n) {
                row.iter_mut().zip(bias).for_each(|(v, &bv)| *v += bv);
            }
        }
        let out_lengths = fwd.lengths.map(|l| self.win.out_lengths(t, l));
        if let Some(ol) = &out_lengths {
            zero_past_lengths(out, b, o_n, ol);
        }
        // Pre-activation values only for training (backward and `logits`).
        let z = fwd.keep.then(|| self.copy(out));
        activation_forward(self.activation, out, o_n);
        if let Some(ol) = &out_lengths {
            zero_past_lengths(out, b, o_n, ol);
        }
        let states = if self.history_rows() > 0 {
            let full = vec![t; b];
            vec![self.final_history(x, history, b, fwd.lengths.unwrap_or(&full))]
        } else {
            Vec::new()
        };
        if let (Some(z), Some(saved)) = (z, saved) {
            let y = self.copy(out);
            self.cache = Some(Cache { saved, version: fwd.params_version, z, y, seq_len: t, batch: b, lengths: fwd.lengths.map(<[usize]>::to_vec), out_lengths });
        }
        states
    }

    fn backward(&mut self, params: &[R], d_out: &[R], at_logits: bool, d_states: &[Option<&[R]>], grads: &mut [R], want_dx: bool) -> Result<LayerGrads<R>> {
        let Some(version) = self.cache.as_ref().map(|c| c.version) else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        // Repacks only if an inference forward with other weights came in between.
        self.pack_weight(params, version);
        let c = self.cache.as_ref().expect("checked above");
        let (o_n, b) = (self.out_channels, c.batch);
        // Scratch from the pool; dz is written whole by either branch below.
        let mut spare = std::mem::take(&mut self.spare);
        let mut dz = spare.take(d_out.len());
        if at_logits {
            dz.copy_from_slice(d_out);
        } else {
            activation_backward(self.activation, &c.z, &c.y, d_out, o_n, &mut dz);
        }
        if let Some(ol) = &c.out_lengths {
            zero_past_lengths(&mut dz, b, o_n, ol);
        }
        let geo = self.geometry(c.seq_len, b, c.lengths.as_deref());
        let (ci, t, h, wl) = (self.in_channels, c.seq_len, self.history_rows(), self.weight_len());
        let wp = self.packed_weight();
        if self.bias {
            let db = &mut grads[wl..wl + o_n];
            for row in dz.chunks_exact(o_n) {
                db.iter_mut().zip(row).for_each(|(d, &v)| *d += v);
            }
        }
        // dx and the initial history's gradient, needed for dx or for a history state.
        let need_dx = want_dx || h > 0;
        let mut dx = if need_dx { vec![R::ZERO; product("dx", &[t, b, ci])] } else { Vec::new() };
        let mut dh = if need_dx { vec![R::ZERO; product("history", &[h, b, ci])] } else { Vec::new() };
        let mut dwp = vec![R::ZERO; wl];
        match &c.saved {
            Saved::Input { x, history } => {
                let m = self.multiplier();
                depthwise::backward(&geo, m, wp, x, history.as_deref(), &dz, &mut dwp, need_dx.then_some((&mut dx[..], &mut dh[..])));
                depthwise::unpack_add(&dwp, &mut grads[..wl], ci, m, self.win.kernel);
            }
            Saved::Col(col) => {
                let (rows, width) = (geo.t_out() * b, geo.width());
                let (og, kcg) = (o_n / self.groups, self.win.kernel * self.cg());
                // dW (column order) = dzᵀ·col per group, then back to PyTorch's layout.
                for g in 0..self.groups {
                    R::gemm(true, false, og, kcg, rows, R::ONE, &dz[g * og..], o_n, &col[g * kcg..], width, R::ZERO, &mut dwp[g * og * kcg..], kcg);
                }
                permute_weight(&dwp, &mut grads[..wl], self.cg(), self.win.kernel, true, true);
                if need_dx {
                    // dcol = dz·W per group, then col2im.
                    // Written whole: each group's GEMM (β = 0) fills its columns of every row.
                    let mut dcol = spare.take(col.len());
                    for g in 0..self.groups {
                        R::gemm(false, false, rows, kcg, og, R::ONE, &dz[g * og..], o_n, &wp[g * og * kcg..], kcg, R::ZERO, &mut dcol[g * kcg..], width);
                    }
                    geo.col2im(&dcol, &mut dx, &mut dh);
                    spare.give(dcol);
                }
            }
        }
        let mut d_initial = Vec::new();
        if h > 0 {
            // The final history copied input (or initial history) rows: route its gradient back.
            if let Some(dfinal) = d_states.first().copied().flatten() {
                let full = vec![t; b];
                for_each_final_row(h, b, c.lengths.as_deref().unwrap_or(&full), |dst, src| {
                    let (buf, r) = match src {
                        Ok(r) => (&mut dx, r),
                        Err(r) => (&mut dh, r),
                    };
                    buf[r * ci..(r + 1) * ci].iter_mut().zip(&dfinal[dst * ci..(dst + 1) * ci]).for_each(|(d, &v)| *d += v);
                });
            }
            d_initial.push(dh);
        }
        spare.give(dz);
        self.spare = spare;
        if !want_dx {
            dx = Vec::new();
        }
        Ok(LayerGrads { dx, d_states: d_initial })
    }

    /// The buffers stay in `spare` for the next step (as the recurrent layer's workspace does: a
    /// model calls this after every training step, and fresh buffers cost page faults each time).
    fn clear_cache(&mut self) {
        if let Some(old) = self.cache.take() {
            self.spare_cache(old);
        }
    }

    fn final_activation(&self) -> Activation {
        self.activation
    }

    fn logits(&self) -> Option<&[R]> {
        self.cache.as_ref().map(|c| &c.z[..])
    }
}

#[cfg(test)]
mod tests;
