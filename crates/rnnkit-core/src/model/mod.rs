//! `Model`: an ordered list of layers (`crate::layers`) over one flat parameter buffer, with
//! inference, BPTT, and whole training steps and epochs (forward, loss, backward, clipping,
//! optimizer update) entirely in Rust. This is the one surface the N-API and wasm bindings expose;
//! they only convert arguments, and nothing here asks which kind a layer is.
//!
//! Shapes: `x` is [batch, seq_len, input] when `spec.batch_first`, else [seq_len, batch, input]
//! (token ids: [.., .., 1]). Sequence outputs follow the same layout; a vector output is [batch, F].
//! States are the layers' (`state_info`), in layer order: for a lone LSTM exactly PyTorch's
//! `h_n`, `c_n`.

use std::borrow::Cow;
use std::ops::Range;

pub use crate::dataset::{Batch, DataSummary, Dataset, Inputs, InputsRef, Targets, TargetsRef};
use crate::dataset::expect_finite;
use crate::error::{Error, Result};
use crate::layers::{registry, Activation, Forward, Layer, LayerX, ParamShape, Shape, StateInfo};
use crate::loss::{loss_and_grad, loss_parts, Targets as LossTargets};
use crate::optim::{clip_grad_norm, clip_grad_value, Optimizer};
use crate::params::ParamInfo;
use crate::real::Real;
use crate::rng::Rng;
use crate::shape::{dims_str, expect_len};
use crate::spare::Spare;
use crate::spec::{LossKind, ModelSpec, TrainSpec};

/// The production model: float32 through the SIMD kernels.
pub type Model = Network<f32>;

#[derive(Default)]
pub struct ForwardOptions<'a, R = f32> {
    /// Initial states, one per `state_info` entry (None = zeros), or empty for all zeros.
    pub states: &'a [Option<&'a [R]>],
    /// Valid steps per sequence, each in 1..=seq_len.
    pub lengths: Option<&'a [i32]>,
    /// Keep activations for `backward` and apply dropout.
    pub training: bool,
    /// The caller does not read the final states (a prediction): `ForwardResult::states` comes
    /// back empty, and a layer whose states are large (an attention's key/value cache of
    /// batch·cache_size·embed_dim values each) does not build them.
    pub skip_states: bool,
}

pub struct ForwardResult<R = f32> {
    pub output: Vec<R>,
    pub output_dims: Vec<usize>,
    /// Final states, one per `state_info` entry.
    pub states: Vec<Vec<R>>,
}

pub struct BackwardResult<R = f32> {
    /// Shaped like x; empty for token-id input (ids have no gradient).
    pub dx: Vec<R>,
    /// One per `state_info` entry, shaped like the initial state.
    pub d_states: Vec<Vec<R>>,
    /// Same layout as `params()`.
    pub grads: Vec<R>,
}

/// One state of the network: the layer it belongs to and its name and dims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkState {
    pub layer: usize,
    pub info: StateInfo,
}

/// A layer as the network sees it (for summaries and bindings).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSummary {
    pub kind: &'static str,
    pub input: Shape,
    pub output: Shape,
    pub params: usize,
}

mod batch;
mod describe;
mod options;
mod pass;
mod train;

pub use options::{BatchRange, EpochOptions, EpochStats, EpochTotals, EvalParts, EvalRange};

struct Training<R: Real> {
    spec: TrainSpec,
    optimizer: Optimizer<R>,
}

/// What `backward` needs besides the layers' own caches.
struct Cache {
    batch: usize,
    /// Steps of the output (a sequence output may be shorter than the input: strides, pools).
    out_steps: usize,
    /// Whether the input was token ids (then there is no dx).
    tokens: bool,
    seq_len: usize,
}

/// Where `run` leaves the last layer's output.
enum SeqOut<'o, R> {
    /// Core layout in `Pass::out` (what losses read).
    Core,
    /// In the user's layout (`spec.batch_first`) when the last layer can write it so: straight into
    /// this slice (of exactly the visible output's length; `Pass::out` is then empty), or into
    /// `Pass::out`. `Pass::user_layout` says whether it did.
    Visible(Option<&'o mut [R]>),
}

/// One forward pass.
struct Pass<R> {
    /// The last layer's output: core layout ([T_out, B, F] or [B, F]) unless `user_layout`.
    out: Vec<R>,
    user_layout: bool,
    out_steps: usize,
    /// Final states, one per `state_info` entry.
    states: Vec<Vec<R>>,
}

/// Gradient arriving at the model's output: of the visible output, or of the last layer's logits.
enum OutGrad<'a, R> {
    Output(&'a [R]),
    Logits(&'a [R]),
}

/// The network's input in core layout.
#[derive(Clone, Copy)]
enum NetX<'a, R> {
    Features(&'a [R]),
    Tokens(&'a [i32]),
}

/// A batch validated and converted to time-major.
struct Prepared<R> {
    /// Token ids [T, B] time-major when the input is ids (then `x` is empty: the first layer reads them).
    ids: Option<Vec<i32>>,
    x: Vec<R>,
    seq_len: usize,
    batch: usize,
    lengths: Option<Vec<usize>>,
    y: Targets<R>,
    /// Per-row loss weights of a sequence output, time-major [T_out, B]; None = all 1.
    weights: Option<Vec<R>>,
}

impl<R> Prepared<R> {
    fn input(&self) -> NetX<'_, R> {
        match &self.ids {
            Some(ids) => NetX::Tokens(ids),
            None => NetX::Features(&self.x),
        }
    }
}

/// What validation learned about a batch: (seq_len, samples, lengths).
struct Checked<'a> {
    t: usize,
    n: usize,
    lengths: Option<Cow<'a, [usize]>>,
}

/// What the compiled loss reads from a pass.
struct LossInput<'p, R> {
    kind: LossKind,
    /// [rows, units]: the output, or the last layer's logits for a loss computed on logits.
    pred: &'p [R],
    targets: LossTargets<'p, R>,
    rows: usize,
    units: usize,
    at_logits: bool,
}

/// An epoch's sample order and the epoch stream right after shuffling, for (dataset id, seed, shuffle).
struct EpochOrder {
    key: (u64, u64, bool),
    order: Vec<usize>,
    rng: Rng,
}

/// Streaming state for `step`.
struct Stream<R> {
    batch: usize,
    states: Vec<Vec<R>>,
}

pub struct Network<R: Real> {
    /// Canonical: every layer's config with its defaults and sizes filled in.
    spec: ModelSpec,
    layers: Vec<Box<dyn Layer<R>>>,
    /// Each layer's slice of `params`.
    ranges: Vec<Range<usize>>,
    /// How many states each layer carries (the same for every batch size), so a pass finds each
    /// layer's slice of the states list without asking every layer on every call.
    state_counts: Vec<usize>,
    layout: Vec<ParamInfo>,
    params: Vec<R>,
    training: Option<Training<R>>,
    cache: Option<Cache>,
    stream: Option<Stream<R>>,
    rng: Rng,
    /// Bumped on every parameter change, so layers reuse weights packed for the kernels until then.
    params_version: u64,
    /// Large per-step buffers handed back after a training step, for the next one.
    spare: Spare<R>,
    /// The order of the epoch being trained in chunks (see `train_batches`).
    epoch_order: Option<EpochOrder>,
}

impl<R: Real> Network<R> {
    /// Builds and initialises (seeded by `spec.seed`) a model from spec JSON (see `spec.rs`).
    pub fn from_json(spec_json: &str) -> Result<Self> {
        crate::kernels::init_kernels()?;
        Self::new(ModelSpec::from_json(spec_json)?)
    }

    /// Builds every layer (each checks its config against the previous layer's output shape) and
    /// initialises the parameters layer by layer from one generator seeded by `spec.seed`.
    pub fn new(mut spec: ModelSpec) -> Result<Self> {
        let mut layers: Vec<Box<dyn Layer<R>>> = Vec::with_capacity(spec.layers.len());
        for (k, ls) in spec.layers.iter().enumerate() {
            let layer = registry::build::<R>(ls, layers.last().map(|l| l.output_shape()), k)?;
            layers.push(layer);
        }
        // Sizes come from configs: counted with overflow checks before anything is allocated.
        let too_many = |what: String| Error::value("spec", format!("{what} parameters is more than rnnkit supports (2^31)"));
        let mut layout = Vec::new();
        let mut ranges = Vec::new();
        let mut total = 0usize;
        // Names count only the layers that have parameters (`1.weight` is the second such layer),
        // so adding or removing a Dropout or a pooling layer leaves every saved name valid; a
        // network with one such layer uses PyTorch's bare names (`weight_ih_l0`).
        let shapes: Vec<Vec<ParamShape>> = layers.iter().map(|l| l.params()).collect();
        let with_params = shapes.iter().filter(|p| !p.is_empty()).count();
        let mut named = 0;
        for (k, params) in shapes.into_iter().enumerate() {
            let start = total;
            let prefix = if with_params == 1 { String::new() } else { format!("{named}.") };
            named += !params.is_empty() as usize;
            for p in params {
                let n = p.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| too_many(format!("layer {k}: more than 2^64")))?;
                layout.push(ParamInfo { name: format!("{prefix}{}", p.name), shape: p.shape, offset: total });
                total = total.checked_add(n).filter(|&t| t <= 1 << 31).ok_or_else(|| too_many(format!("layer {k}: more than 2^31 in total,")))?;
            }
            ranges.push(start..total);
        }
        let mut rng = Rng::new(spec.seed);
        let mut flat = vec![0f32; total];
        for (layer, r) in layers.iter().zip(&ranges) {
            layer.init(&mut flat[r.clone()], &mut rng);
        }
        for (ls, layer) in spec.layers.iter_mut().zip(&layers) {
            ls.config = layer.config();
        }
        let state_counts = layers.iter().map(|l| l.states(1).len()).collect();
        Ok(Network {
            params: flat.into_iter().map(R::from_f32).collect(),
            layout,
            ranges,
            state_counts,
            layers,
            training: None,
            cache: None,
            stream: None,
            rng,
            params_version: 0,
            spare: Spare::default(),
            epoch_order: None,
            spec,
        })
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Canonical spec JSON (all defaults filled in), as stored in saved files.
    pub fn spec_json(&self) -> String {
        self.spec.to_json()
    }

    /// Names, shapes and offsets, in the order of `params()`.
    pub fn param_info(&self) -> &[ParamInfo] {
        &self.layout
    }

    pub fn params(&self) -> &[R] {
        &self.params
    }

    /// Every layer's kind, input and output shapes and parameter count, in order.
    pub fn layer_summaries(&self) -> Vec<LayerSummary> {
        self.layers
            .iter()
            .zip(&self.ranges)
            .map(|(l, r)| LayerSummary { kind: l.kind(), input: l.input_shape(), output: l.output_shape(), params: r.len() })
            .collect()
    }

    /// The network's input: features of the first layer, or token ids for an Embedding.
    pub fn input_shape(&self) -> Shape {
        self.layers[0].input_shape()
    }

    /// Replaces all parameters (length checked, values must be finite).
    pub fn set_params(&mut self, flat: &[R]) -> Result<()> {
        expect_len("params", flat.len(), &[self.params.len()])?;
        if let Some(i) = flat.iter().position(|v| !v.is_finite()) {
            let name = self.layout.iter().find(|p| p.range().contains(&i)).map(|p| p.name.as_str()).unwrap_or("?");
            return Err(Error::value("params", format!("expected finite numbers, got {:?} in {name}", flat[i])));
        }
        self.params.copy_from_slice(flat);
        self.params_version += 1;
        self.drop_caches();
        Ok(())
    }

    /// Every state the layers carry, for a batch of `batch`, in layer order.
    pub fn state_info(&self, batch: usize) -> Vec<NetworkState> {
        self.layers.iter().enumerate().flat_map(|(layer, l)| l.states(batch).into_iter().map(move |info| NetworkState { layer, info })).collect()
    }

    /// Output dims for input dims (validates x_dims).
    pub fn output_dims(&self, x_dims: [usize; 3]) -> Result<Vec<usize>> {
        self.output_dims_of(x_dims, false)
    }

    /// `output_dims` for features, or for token ids (`tokens`: dims `[.., .., 1]`).
    pub fn output_dims_of(&self, x_dims: [usize; 3], tokens: bool) -> Result<Vec<usize>> {
        let (t, b) = self.check_dims_of(x_dims, tokens)?;
        Ok(self.output_dims_for(self.out_steps(t), b))
    }

    /// The batch of the last training forward (what `backward`'s state gradients are sized by).
    pub fn last_batch(&self) -> Option<usize> {
        self.cache.as_ref().map(|c| c.batch)
    }

    /// Sets loss, optimizer and clipping from train-spec JSON; resets optimizer state.
    pub fn compile(&mut self, train_json: &str) -> Result<()> {
        let spec = TrainSpec::from_json(train_json)?;
        let act = self.last().final_activation();
        let ok = match spec.loss {
            LossKind::Mse => true,
            LossKind::BceWithLogits => matches!(act, Activation::Identity | Activation::Sigmoid),
            LossKind::CrossEntropy => matches!(act, Activation::Identity | Activation::Softmax),
        };
        if !ok {
            let wanted = if spec.loss == LossKind::CrossEntropy { "identity or softmax" } else { "identity or sigmoid" };
            return Err(Error::value("train.loss", format!("{:?} needs a last-layer activation of {wanted} (it is computed on the logits), got {act:?}", spec.loss)));
        }
        let optimizer = Optimizer::new(spec.optimizer, self.params.len());
        self.training = Some(Training { spec, optimizer });
        Ok(())
    }

    fn last(&self) -> &dyn Layer<R> {
        &**self.layers.last().expect("a network has at least one layer")
    }

    fn uses_rng(&self) -> bool {
        self.layers.iter().any(|l| l.uses_rng())
    }

    fn drop_caches(&mut self) {
        self.cache = None;
        self.layers.iter_mut().for_each(|l| l.clear_cache());
    }

    fn check_compiled(&self) -> Result<()> {
        if self.training.is_none() {
            return Err(Error::value("model", "call compile() with a loss and optimizer before training or evaluating"));
        }
        Ok(())
    }

    fn output_features(&self) -> usize {
        self.last().output_shape().features()
    }

    fn sequence_output(&self) -> bool {
        self.last().output_shape().is_sequence()
    }

    /// Steps of the output sequence for `t` input steps (0: too short for some layer).
    fn out_steps(&self, t: usize) -> usize {
        let mut steps = t;
        for l in &self.layers {
            if !l.output_shape().is_sequence() {
                return 1;
            }
            if steps == 0 {
                return 0;
            }
            steps = l.output_steps(steps);
        }
        steps
    }

    /// Valid output steps per sequence for input `lengths` (sequence outputs).
    fn out_lengths(&self, t: usize, lengths: &[usize]) -> Vec<usize> {
        let (mut steps, mut len) = (t, lengths.to_vec());
        for l in &self.layers {
            len = l.output_lengths(steps, &len);
            steps = l.output_steps(steps);
        }
        len
    }

    /// Output dims for `t_out` output steps.
    fn output_dims_for(&self, t_out: usize, b: usize) -> Vec<usize> {
        let f = self.output_features();
        match (self.sequence_output(), self.spec.batch_first) {
            (false, _) => vec![b, f],
            (true, true) => vec![b, t_out, f],
            (true, false) => vec![t_out, b, f],
        }
    }
}
