//! Spare buffers: the large vectors a model builds on every training step (block outputs, head
//! activations, gradients, gathered batches) are handed back when the step is done and reused by
//! the next one. Freed and re-allocated each step, glibc trimmed them off the heap and every page
//! was faulted in again on first touch: measured ~8 ms of an 85 ms T1 step (LSTM B=32 T=100 H=256,
//! one thread) in this VM, where page faults are expensive.

use crate::real::Real;

/// How many buffers are kept; the smallest goes first when there are more.
const KEEP: usize = 12;

#[derive(Default)]
pub(crate) struct Spare<R> {
    bufs: Vec<Vec<R>>,
}

impl<R: Real> Spare<R> {
    /// An empty buffer with room for `n` elements: the spare with the smallest capacity that
    /// fits, or a new one.
    pub fn empty(&mut self, n: usize) -> Vec<R> {
        let mut v = self.pick(n);
        v.clear();
        v
    }

    /// The spare with the smallest capacity ≥ n (contents as left), or a new empty one.
    fn pick(&mut self, n: usize) -> Vec<R> {
        let fits = self.bufs.iter().enumerate().filter(|(_, b)| b.capacity() >= n).min_by_key(|(_, b)| b.capacity());
        match fits.map(|(i, _)| i) {
            Some(i) => self.bufs.swap_remove(i),
            None => Vec::with_capacity(n),
        }
    }

    /// A buffer of `n` elements with unspecified contents, for a caller that overwrites all of them.
    pub fn take(&mut self, n: usize) -> Vec<R> {
        let mut v = self.pick(n);
        // Only elements past the old length are written (zeros); the rest keep stale values.
        v.resize(n, R::ZERO);
        v
    }

    /// `n` zeros.
    pub fn zeros(&mut self, n: usize) -> Vec<R> {
        let mut v = self.empty(n);
        v.resize(n, R::ZERO);
        v
    }

    /// Keeps `v` for a later `take`.
    pub fn give(&mut self, v: Vec<R>) {
        if v.capacity() == 0 {
            return;
        }
        self.bufs.push(v);
        if self.bufs.len() > KEEP {
            if let Some(i) = self.bufs.iter().enumerate().min_by_key(|(_, b)| b.capacity()).map(|(i, _)| i) {
                self.bufs.swap_remove(i);
            }
        }
    }
}
