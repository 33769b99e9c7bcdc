//! The key/value cache a causal `MultiHeadAttention` streams with. Three states per layer:
//! "keys" and "values" [batch, cache_size, embed_dim] (each sequence's projected K and V of the
//! steps it has seen, oldest first, zeros after them) and "steps" [batch] (how many steps each
//! sequence has seen: a whole number in a float state, exact below 2^24, which bounds cache_size).
//! A call attends to a sequence's cached steps before its own, and its final states append its
//! valid steps. A fresh forward longer than cache_size keeps the first cache_size steps and the
//! true count; continuing from a cache that cannot hold the new steps is an error (never a silent
//! window, which would differ from one forward over the whole sequence).

use std::borrow::Cow;

use crate::real::Real;

use super::super::attention_pooling::valid;
use super::super::StateInfo;

/// Largest cache_size: the "steps" state counts exactly in f32 below 2^24.
pub(super) const MAX_CACHE_SIZE: usize = 1 << 24;

/// Steps kept when the config does not say: a context of this many steps streams.
pub(super) const DEFAULT_CACHE_SIZE: usize = 1024;

/// The cache's geometry for one layer.
#[derive(Clone, Copy)]
pub(super) struct KvLayout {
    pub cache_size: usize,
    pub embed_dim: usize,
}

/// The cached steps a call starts from.
pub(super) struct Past<'a, R: Real> {
    /// [batch, cache_size, embed_dim] each; empty when no sequence has a cached step.
    pub keys: Cow<'a, [R]>,
    pub values: Cow<'a, [R]>,
    /// Cached steps per sequence (each ≤ cache_size: the network checks `check_steps` first).
    pub steps: Vec<usize>,
}

impl<R: Real> Past<'_, R> {
    /// No cached steps (a non-causal layer, or a trace).
    pub fn fresh(batch: usize) -> Past<'static, R> {
        Past { keys: Cow::Borrowed(&[]), values: Cow::Borrowed(&[]), steps: vec![0; batch] }
    }

    /// The most steps a sequence has cached.
    pub fn most(&self) -> usize {
        self.steps.iter().copied().max().unwrap_or(0)
    }

    /// A copy that outlives the states (training keeps it for backward).
    pub fn into_owned(self) -> Past<'static, R> {
        Past { keys: Cow::Owned(self.keys.into_owned()), values: Cow::Owned(self.values.into_owned()), steps: self.steps }
    }
}

impl KvLayout {
    pub fn states(&self, batch: usize) -> Vec<StateInfo> {
        let dims = vec![batch, self.cache_size, self.embed_dim];
        vec![StateInfo { name: "keys", dims: dims.clone() }, StateInfo { name: "values", dims }, StateInfo { name: "steps", dims: vec![batch] }]
    }

    /// One sequence's block of a keys or values state.
    pub fn block(&self) -> usize {
        self.cache_size * self.embed_dim
    }

    /// Each sequence's count from the "steps" state (zeros when absent; rounded, as a finite
    /// difference nudges it).
    pub fn cached_steps<R: Real>(&self, states: &[Option<&[R]>], batch: usize) -> Vec<usize> {
        match states.get(2).copied().flatten() {
            Some(s) => s.iter().map(|v| v.to_f64().round().max(0.0) as usize).collect(),
            None => vec![0; batch],
        }
    }

    /// The initial states as a `Past` (absent keys or values are zeros). Borrowed: copy with
    /// `into_owned` to keep it for backward.
    pub fn past<'a, R: Real>(&self, states: &[Option<&'a [R]>], batch: usize) -> Past<'a, R> {
        let steps = self.cached_steps(states, batch);
        if let Some(&n) = steps.iter().find(|&&n| n > self.cache_size) {
            panic!("MultiHeadAttention: a sequence has {n} cached steps, more than cache_size {}; the network refuses such states first (check_state_values)", self.cache_size);
        }
        let cached = steps.iter().any(|&n| n > 0);
        let view = |i: usize| match states.get(i).copied().flatten() {
            Some(s) if cached => Cow::Borrowed(s),
            None if cached => Cow::Owned(vec![R::ZERO; batch * self.block()]),
            _ => Cow::Borrowed(&[][..]),
        };
        Past { keys: view(0), values: view(1), steps }
    }

    /// Why a call on `seq_len` steps (valid `lengths`) cannot continue from these initial states:
    /// a count that is not a whole number, or a cache too small for the steps it would append.
    /// `cache_key` is the config key's full path, for the message.
    pub fn check_steps<R: Real>(&self, states: &[Option<&[R]>], seq_len: usize, lengths: Option<&[usize]>, cache_key: &str) -> Result<(), String> {
        let Some(steps) = states.get(2).copied().flatten() else { return Ok(()) };
        let cap = self.cache_size;
        for (bi, &n) in steps.iter().enumerate() {
            let n = n.to_f64();
            if n < 0.0 || n.fract() != 0.0 {
                return Err(format!("its state \"steps\" counts the steps each sequence has seen: a whole number >= 0, got {n} for sequence {bi}"));
            }
            let (seen, len) = (n as usize, valid(lengths, seq_len, bi));
            // A fresh sequence may run longer than the cache (one forward needs no cache); a
            // cached one must fit whole, or its next steps would miss keys a forward sees.
            if seen > 0 && seen.saturating_add(len) > cap {
                return Err(format!(
                    "{cache_key} is {cap}: the key/value cache holds {cap} steps per sequence, and sequence {bi} has seen {seen}, so step {} does not fit; start again from fresh states (reset_state()) or build the layer with a larger cache_size",
                    (seen + 1).max(cap + 1)
                ));
            }
        }
        Ok(())
    }

    /// The final states: each sequence's cached steps, then its `lengths` valid steps of this call
    /// (K and V read from `qkv` [T·B, 3E]), as many as fit; the count grows by the valid steps.
    /// `spare`: buffers of earlier states (with their own counts) to write into instead of
    /// allocating: only the rows that change are written, so a streaming step costs the
    /// cached steps, not the cache's size.
    pub fn final_states<R: Real>(&self, past: &Past<'_, R>, qkv: &[R], seq_len: usize, lengths: Option<&[usize]>, spare: Option<Vec<Vec<R>>>) -> Vec<Vec<R>> {
        let (e, block, batch) = (self.embed_dim, self.block(), past.steps.len());
        let (mut keys, mut values, old_rows) = match spare {
            Some(mut s) if s.len() == 3 && s[0].len() == batch * block && s[1].len() == batch * block && s[2].len() == batch => {
                let rows: Vec<usize> = s[2].iter().map(|v| (v.to_f64().max(0.0) as usize).min(self.cache_size)).collect();
                let values = s.swap_remove(1);
                (s.swap_remove(0), values, rows)
            }
            _ => (vec![R::ZERO; batch * block], vec![R::ZERO; batch * block], vec![0; batch]),
        };
        let mut steps = vec![R::ZERO; batch];
        for bi in 0..batch {
            let (n0, len) = (past.steps[bi], valid(lengths, seq_len, bi));
            let rows = (n0 + len).min(self.cache_size);
            let kept = n0.min(rows);
            for (dst, src, part) in [(&mut keys, &past.keys, 1), (&mut values, &past.values, 2)] {
                let dst = &mut dst[bi * block..][..block];
                if kept > 0 {
                    dst[..kept * e].copy_from_slice(&src[bi * block..][..kept * e]);
                }
                for j in kept..rows {
                    let s = j - n0;
                    dst[j * e..][..e].copy_from_slice(&qkv[(s * batch + bi) * 3 * e + part * e..][..e]);
                }
                if old_rows[bi] > rows {
                    dst[rows * e..old_rows[bi] * e].fill(R::ZERO);
                }
            }
            steps[bi] = R::from_f64((n0 + len) as f64);
        }
        vec![keys, values, steps]
    }

    /// Backward through `final_states`: the final keys' and values' gradients (None = zero) reach
    /// the initial cache (`d_keys`, `d_values`, [batch, cache_size, E], added) and this call's K
    /// and V (`d_qkv`, added).
    #[allow(clippy::too_many_arguments)]
    pub fn final_states_backward<R: Real>(&self, steps: &[usize], seq_len: usize, lengths: Option<&[usize]>, d_final: &[Option<&[R]>], d_keys: &mut [R], d_values: &mut [R], d_qkv: &mut [R]) {
        let (e, block, batch) = (self.embed_dim, self.block(), steps.len());
        for (i, d_init, part) in [(0, d_keys, 1), (1, d_values, 2)] {
            let Some(df) = d_final.get(i).copied().flatten() else { continue };
            for bi in 0..batch {
                let (n0, len) = (steps[bi], valid(lengths, seq_len, bi));
                let rows = (n0 + len).min(self.cache_size);
                let kept = n0.min(rows);
                add(&mut d_init[bi * block..][..kept * e], &df[bi * block..][..kept * e]);
                for j in kept..rows {
                    let s = j - n0;
                    add(&mut d_qkv[(s * batch + bi) * 3 * e + part * e..][..e], &df[bi * block + j * e..][..e]);
                }
            }
        }
    }
}

fn add<R: Real>(dst: &mut [R], src: &[R]) {
    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
}
