//! Sliding-window geometry shared by `Conv1D` and the pooling layers: padding, output steps, and
//! how each sequence's valid length maps through the window (so both kinds agree on lengths).

use crate::error::{Error, Result};
use crate::fields::Fields;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// No padding: only windows that fit inside the input.
    Valid,
    /// Output steps ceil(T / stride); pad total (ceil(T/s)−1)·s + span − T, the odd one on the right
    /// (Keras's rule; with stride 1 it is PyTorch's padding='same': dilation·(kernel−1)).
    Same,
    /// dilation·(kernel−1) on the left only: output t sees inputs ≤ t.
    Causal,
}

impl Padding {
    pub const NAMES: &'static [(&'static str, Padding)] = &[("valid", Padding::Valid), ("same", Padding::Same), ("causal", Padding::Causal)];

    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, p)| *p == self).map_or("valid", |(n, _)| n)
    }
}

/// One window: output step `o` reads inputs `o·stride − left + j·dilation` for j in 0..kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    pub padding: Padding,
}

impl Window {
    /// Reads `kernel_key`, "stride", "padding" (one of `paddings`, default "valid") and, for a
    /// convolution (`conv`), "dilation" from `f`. Stride defaults to 1 for a convolution (PyTorch's
    /// Conv1d) and to the kernel for a pool (MaxPool1d, Keras's pooling layers).
    pub fn from_fields(f: &Fields<'_>, kernel_key: &str, conv: bool, paddings: &[(&str, Padding)]) -> Result<Self> {
        let kernel = f.size(kernel_key, None, 1)?;
        let stride = f.size("stride", Some(if conv { 1 } else { kernel }), 1)?;
        let dilation = if conv { f.size("dilation", Some(1), 1)? } else { 1 };
        let padding = f.choice("padding", Some("valid"), paddings)?;
        // span ≤ 1e9·1e9 fits a u64; checked anyway so 32-bit (wasm) targets cannot wrap.
        (kernel - 1).checked_mul(dilation).and_then(|s| s.checked_add(1)).ok_or_else(|| Error::value(f.path("dilation"), format!("dilation·(kernel_size−1) overflows ({dilation}·{})", kernel - 1)))?;
        Ok(Window { kernel, stride, dilation, padding })
    }

    /// Input steps one window covers: dilation·(kernel−1) + 1.
    pub fn span(&self) -> usize {
        self.dilation * (self.kernel - 1) + 1
    }

    /// (left, right) padding for `t` input steps.
    pub fn pads(&self, t: usize) -> (usize, usize) {
        let total = match self.padding {
            Padding::Valid => 0,
            Padding::Causal => return (self.span() - 1, 0),
            Padding::Same => ((t.div_ceil(self.stride).max(1) - 1) * self.stride + self.span()).saturating_sub(t),
        };
        (total / 2, total - total / 2)
    }

    /// Output steps for `t` input steps; 0 when `t < min_steps()`.
    pub fn out_steps(&self, t: usize) -> usize {
        let (l, r) = self.pads(t);
        let padded = t + l + r;
        if padded < self.span() { 0 } else { (padded - self.span()) / self.stride + 1 }
    }

    /// Fewest input steps giving one output step.
    pub fn min_steps(&self) -> usize {
        match self.padding {
            Padding::Valid => self.span(),
            Padding::Same | Padding::Causal => 1,
        }
    }

    /// Valid output steps of a sequence of `len` valid steps in a batch padded to `t` steps, clamped
    /// to 1..=out_steps(t) (a too-short sequence still yields one step, over its valid inputs).
    /// "valid" / "causal" (and "same" at stride 1, whose padding does not depend on `t`): the steps
    /// the sequence gives when run alone. "same" with stride > 1: the ceil(len/stride) windows of the
    /// batch's grid (its padding follows `t`) that start inside the sequence; each holds at least
    /// one valid step, since the left pad is below the window.
    pub fn out_length(&self, len: usize, t: usize) -> usize {
        let n = match self.padding {
            Padding::Same => len.div_ceil(self.stride),
            _ => self.out_steps(len),
        };
        n.clamp(1, self.out_steps(t).max(1))
    }

    pub fn out_lengths(&self, t: usize, lengths: &[usize]) -> Vec<usize> {
        lengths.iter().map(|&l| self.out_length(l, t)).collect()
    }

    /// First input step (may be negative: padding) of output step `o`'s window for `t` input steps.
    pub fn start(&self, o: usize, t: usize) -> isize {
        (o * self.stride) as isize - self.pads(t).0 as isize
    }
}

/// The `Layer` step methods of a layer whose `win: Window` field is its geometry.
macro_rules! window_steps {
    () => {
        fn output_steps(&self, seq_len: usize) -> usize {
            self.win.out_steps(seq_len)
        }
        fn min_steps(&self) -> usize {
            self.win.min_steps()
        }
        fn output_lengths(&self, seq_len: usize, lengths: &[usize]) -> Vec<usize> {
            self.win.out_lengths(seq_len, lengths)
        }
    };
}
pub(crate) use window_steps;

#[cfg(test)]
mod tests {
    use super::*;

    fn w(kernel: usize, stride: usize, dilation: usize, padding: Padding) -> Window {
        Window { kernel, stride, dilation, padding }
    }

    #[test]
    fn steps_follow_pytorch_and_keras() {
        // nn.Conv1d: floor((T + pads − dilation·(k−1) − 1)/stride) + 1.
        assert_eq!(w(3, 2, 2, Padding::Valid).out_steps(10), 3);
        assert_eq!(w(3, 1, 2, Padding::Valid).out_steps(4), 0);
        assert_eq!(w(3, 1, 2, Padding::Valid).min_steps(), 5);
        // PyTorch same: total d(k−1), extra on the right.
        assert_eq!(w(4, 1, 1, Padding::Same).pads(7), (1, 2));
        assert_eq!(w(4, 1, 1, Padding::Same).out_steps(7), 7);
        // Keras same with stride: ceil(T/s) steps.
        assert_eq!(w(3, 2, 1, Padding::Same).out_steps(7), 4);
        assert_eq!(w(3, 2, 1, Padding::Same).pads(7), (1, 1));
        assert_eq!(w(2, 2, 1, Padding::Same).pads(7), (0, 1));
        assert_eq!(w(3, 1, 2, Padding::Causal).pads(3), (4, 0));
        assert_eq!(w(3, 1, 2, Padding::Causal).out_steps(3), 3);
    }

    #[test]
    fn lengths_map_like_a_sequence_run_alone_clamped_to_one() {
        let v = w(3, 1, 1, Padding::Valid);
        assert_eq!(v.out_lengths(6, &[6, 4, 2, 1]), vec![4, 2, 1, 1]);
        let s = w(2, 2, 1, Padding::Same);
        assert_eq!(s.out_lengths(7, &[7, 4, 1]), vec![4, 2, 1]);
    }
}
