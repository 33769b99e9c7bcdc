//! PyTorch parity: every case in `test/fixtures/*.json` (written by `test/fixtures/gen_torch.py` with
//! torch 1.13 in float64) run through the core: recurrent blocks in f32 and f64 (outputs, final
//! states, dx/dh0/dc0 and every parameter gradient), optimizers step by step, and dense head + loss
//! through `Model`. Each test runs all its cases, prints `ok`/`FAILED` per fixture name and then fails
//! listing every failing case, so one bug does not hide the rest.

mod common;

use common::fixture::{assert_close, bool_of, field, input, nums, reference, run_cases, swap01, tensor, tol, usize_of, F32_ATOL, F32_RTOL, GRAD_CANARY};
use rnnkit_core::json::Json;
use rnnkit_core::recurrent::{BlockInput, RecurrentBlock};
use rnnkit_core::model::{Batch, ForwardOptions, InputsRef, Model, TargetsRef};
use rnnkit_core::optim::Optimizer;
use rnnkit_core::params::{block_layout, ParamInfo};
use rnnkit_core::real::Real;
use rnnkit_core::spec::{ModelSpec, RecurrentSpec, TrainSpec};

// ---- recurrent blocks ----------------------------------------------------------------------------

fn block_spec(config: &Json) -> RecurrentSpec {
    let cell = field(config, "cell").as_str().expect("cell");
    let json = format!(
        r#"{{"blocks":[{{"cell":"{cell}","input_size":{},"hidden_size":{},"num_layers":{},"bidirectional":{},"bias":{}}}]}}"#,
        usize_of(field(config, "input_size")),
        usize_of(field(config, "hidden_size")),
        usize_of(field(config, "num_layers")),
        bool_of(field(config, "bidirectional")),
        bool_of(field(config, "bias")),
    );
    ModelSpec::from_json(&json).expect("fixture config is a valid block spec").recurrent_spec(0).unwrap()
}

/// Flat buffer in `layout` order from `{name: [values]}`; the fixture's names must be exactly the
/// layout's, in the same order (PyTorch's `named_parameters()` order is rnnkit's flat layout).
fn flat_params(layout: &[ParamInfo], named: &Json, convert: impl Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
    let Json::Obj(kv) = named else { panic!("params: expected an object") };
    let fixture_names: Vec<&str> = kv.iter().map(|(k, _)| k.as_str()).collect();
    let layout_names: Vec<&str> = layout.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(layout_names, fixture_names, "parameter names/order differ from PyTorch's named_parameters()");
    let total = layout.iter().map(ParamInfo::len).sum();
    let mut flat = vec![0.0; total];
    for (p, (_, v)) in layout.iter().zip(kv) {
        let v = convert(&nums(v));
        assert_eq!(v.len(), p.len(), "{}: {} values for shape {:?}", p.name, v.len(), p.shape);
        flat[p.range()].copy_from_slice(&v);
    }
    flat
}

fn check_recurrent<R: Real>(case: &Json) {
    let (atol, rtol) = tol::<R>();
    let config = field(case, "config");
    let spec = block_spec(config);
    let batch_first = bool_of(field(config, "batch_first"));
    let layout = block_layout(&spec, "", 0);
    let params: Vec<R> = input(&flat_params(&layout, field(case, "params"), |v| v.to_vec()));

    let (x_dims, x) = tensor(field(case, "x"));
    let (seq_len, batch) = if batch_first { (x_dims[1], x_dims[0]) } else { (x_dims[0], x_dims[1]) };
    // Fixture layout (batch-first or time-major) → the core's time-major layout, and back.
    let to_tm = |d: &[f64], f: usize| if batch_first { swap01(d, batch, seq_len, f) } else { d.to_vec() };
    let from_tm = |d: &[R], f: usize| if batch_first { swap01(d, seq_len, batch, f) } else { d.to_vec() };
    let lstm = spec.cell.has_cell_state();
    let state = |key: &str| case.get(key).map(|t| input::<R>(&tensor(t).1));
    let (h0, c0) = (state("h0"), state("c0"));
    let lengths: Option<Vec<usize>> = case.get("lengths").map(|l| nums(l).iter().map(|&v| v as usize).collect());
    let x_tm: Vec<R> = input(&to_tm(&x, spec.input_size));

    let mut block = RecurrentBlock::<R>::new(spec.clone());
    let fwd_input = BlockInput { tokens: None, x: &x_tm, seq_len, batch, h0: h0.as_deref(), c0: c0.as_deref(), lengths: lengths.as_deref(), dropout_rng: None };
    block.validate(params.len(), &fwd_input).expect("fixture input passes validation");
    let out = block.forward(&params, fwd_input, true);

    let want = |key: &str| reference::<R>(&tensor(field(case, key)).1);
    assert_close(&from_tm(&out.output, spec.output_size()), &want("output"), atol, rtol, "output");
    assert_close(&out.h_n, &want("h_n"), atol, rtol, "h_n");
    if lstm {
        assert_close(&out.c_n, &want("c_n"), atol, rtol, "c_n");
    } else {
        assert!(out.c_n.is_empty(), "c_n must be empty for {}", spec.cell.name());
    }

    let dy: Vec<R> = input(&to_tm(&tensor(field(case, "d_output")).1, spec.output_size()));
    let dh: Vec<R> = input(&tensor(field(case, "d_h_n")).1);
    let dc: Option<Vec<R>> = case.get("d_c_n").map(|t| input(&tensor(t).1));
    let f64_run = std::mem::size_of::<R>() == 8;
    let canary = if f64_run { R::from_f64(GRAD_CANARY) } else { R::ZERO };
    let mut grads = vec![canary; params.len()];
    let g = block.backward(&params, &dy, Some(&dh), dc.as_deref(), &mut grads).expect("backward after a training forward");

    let grads_ref = field(case, "grads");
    let want_grad = |key: &str| reference::<R>(&tensor(field(grads_ref, key)).1);
    assert_close(&from_tm(&g.dx, spec.input_size), &want_grad("x"), atol, rtol, "dx");
    assert_close(&g.dh0, &want_grad("h0"), atol, rtol, "dh0");
    if lstm {
        assert_close(&g.dc0, &want_grad("c0"), atol, rtol, "dc0");
    } else {
        assert!(g.dc0.is_empty(), "dc0 must be empty for {}", spec.cell.name());
    }
    let want_params = flat_params(&layout, field(grads_ref, "params"), |v| v.to_vec());
    for p in &layout {
        let got: Vec<R> = grads[p.range()].iter().map(|&v| v - canary).collect();
        assert_close(&got, &reference::<R>(&want_params[p.range()]), atol, rtol, &format!("d{}", p.name));
    }
}

#[test]
fn recurrent_f32_matches_pytorch() {
    let n = run_cases("recurrent.json", "recurrent f32", check_recurrent::<f32>);
    assert!(n >= 40, "expected every cell × variant, got {n} cases");
}

#[test]
fn recurrent_f64_matches_pytorch() {
    run_cases("recurrent.json", "recurrent f64", check_recurrent::<f64>);
}

/// The same cases through `Model` (what the N-API and wasm bindings call): a lone block, no head,
/// the fixture's own layout (batch-first or not), lengths as i32. Separates a core bug from a binding
/// bug when `test/parity.test.ts` fails.
fn check_recurrent_model(case: &Json) {
    let config = field(case, "config");
    let spec = block_spec(config);
    let batch_first = bool_of(field(config, "batch_first"));
    let model_spec = ModelSpec { batch_first, seed: 0, layers: vec![spec.to_layer_spec()], threads: 0 };
    let mut model = Model::from_json(&model_spec.to_json()).expect("Model::from_json");
    let layout = model.param_info().to_vec();
    let params: Vec<f32> = input(&flat_params(&layout, field(case, "params"), |v| v.to_vec()));
    model.set_params(&params).expect("set_params");

    let (x_dims, x) = tensor(field(case, "x"));
    let x: Vec<f32> = input(&x);
    let state = |key: &str| case.get(key).map(|t| input::<f32>(&tensor(t).1));
    let (h0, c0) = (state("h0"), state("c0"));
    let lengths: Option<Vec<i32>> = case.get("lengths").map(|l| nums(l).iter().map(|&v| v as i32).collect());
    let states: Vec<Option<&[f32]>> = if spec.cell.has_cell_state() { vec![h0.as_deref(), c0.as_deref()] } else { vec![h0.as_deref()] };
    let opts = ForwardOptions { states: &states, lengths: lengths.as_deref(), training: true, skip_states: false };
    let fwd = model.forward(&x, [x_dims[0], x_dims[1], x_dims[2]], &opts).expect("forward");
    let (out_dims, out_want) = tensor(field(case, "output"));
    assert_eq!(fwd.output_dims, out_dims, "output dims");
    let want = |key: &str| reference::<f32>(&tensor(field(case, key)).1);
    assert_close(&fwd.output, &reference::<f32>(&out_want), F32_ATOL, F32_RTOL, "output");
    assert_close(&fwd.states[0], &want("h_n"), F32_ATOL, F32_RTOL, "h");
    if spec.cell.has_cell_state() {
        assert_close(&fwd.states[1], &want("c_n"), F32_ATOL, F32_RTOL, "c");
    }

    let dy: Vec<f32> = input(&tensor(field(case, "d_output")).1);
    let dh: Vec<f32> = input(&tensor(field(case, "d_h_n")).1);
    let dc: Option<Vec<f32>> = case.get("d_c_n").map(|t| input(&tensor(t).1));
    let d_states: Vec<Option<&[f32]>> = if spec.cell.has_cell_state() { vec![Some(&dh), dc.as_deref()] } else { vec![Some(&dh)] };
    let g = model.backward(&dy, &d_states).expect("backward");
    let grads_ref = field(case, "grads");
    let want_grad = |key: &str| reference::<f32>(&tensor(field(grads_ref, key)).1);
    assert_close(&g.dx, &want_grad("x"), F32_ATOL, F32_RTOL, "dx");
    assert_close(&g.d_states[0], &want_grad("h0"), F32_ATOL, F32_RTOL, "dh0");
    if spec.cell.has_cell_state() {
        assert_close(&g.d_states[1], &want_grad("c0"), F32_ATOL, F32_RTOL, "dc0");
    }
    let want_params = flat_params(&layout, field(grads_ref, "params"), |v| v.to_vec());
    for p in &layout {
        assert_close(&g.grads[p.range()], &reference::<f32>(&want_params[p.range()]), F32_ATOL, F32_RTOL, &format!("d{}", p.name));
    }
}

#[test]
fn recurrent_model_matches_pytorch() {
    run_cases("recurrent.json", "recurrent Model", check_recurrent_model);
}

// ---- optimizers ----------------------------------------------------------------------------------

fn check_optimizer<R: Real>(case: &Json) {
    let (atol, rtol) = tol::<R>();
    // The generator rounded every hyperparameter to f32, as OptimSpec stores them, so torch and the
    // f64 run use identical values.
    let train = format!(r#"{{"optimizer":{}}}"#, field(case, "optimizer"));
    let spec = TrainSpec::from_json(&train).expect("fixture optimizer is a valid train spec").optimizer;
    let mut params: Vec<R> = input(&nums(field(case, "params")));
    let grads = field(case, "grads").as_arr().expect("grads");
    let after = field(case, "after").as_arr().expect("after");
    assert_eq!(grads.len(), after.len());
    let mut opt = Optimizer::<R>::new(spec, params.len());
    for (k, (g, a)) in grads.iter().zip(after).enumerate() {
        let g: Vec<R> = input(&nums(g));
        opt.step(&mut params, &g);
        assert_close(&params, &reference::<R>(&nums(a)), atol, rtol, &format!("params after step {}", k + 1));
    }
}

#[test]
fn optimizers_f32_match_pytorch() {
    run_cases("optim.json", "optim f32", check_optimizer::<f32>);
}

#[test]
fn optimizers_f64_match_pytorch() {
    run_cases("optim.json", "optim f64", check_optimizer::<f64>);
}

// ---- dense head + loss through Model -------------------------------------------------------------

/// Plain SGD with lr = 1 and no momentum: params_after = params − grad exactly up to one f32
/// rounding of each parameter (~6e-8 absolute for |p| < 1), far below F32_ATOL, so the gradient a
/// whole `train_step` applied can be read back and compared with PyTorch's.
const READBACK_LR: f64 = 1.0;

fn check_head(case: &Json) {
    let spec_json = field(case, "spec").to_string();
    let mut model = Model::from_json(&spec_json).expect("Model::from_json");
    let layout = model.param_info().to_vec();
    let params: Vec<f32> = input(&flat_params(&layout, field(case, "params"), |v| v.to_vec()));
    model.set_params(&params).expect("set_params");

    let (x_dims, x) = tensor(field(case, "x"));
    let x: Vec<f32> = input(&x);
    let x_dims = [x_dims[0], x_dims[1], x_dims[2]];
    let (out_dims, out_want) = tensor(field(case, "output"));
    let fwd = model.forward(&x, x_dims, &ForwardOptions::default()).expect("forward");
    assert_eq!(fwd.output_dims, out_dims, "output dims");
    assert_close(&fwd.output, &reference::<f32>(&out_want), F32_ATOL, F32_RTOL, "output");

    let y = field(case, "y");
    let y_data = nums(field(y, "data"));
    let y_float: Vec<f32> = input(&y_data);
    let y_class: Vec<i32> = y_data.iter().map(|&v| v as i32).collect();
    let targets = match field(y, "dtype").as_str() {
        Some("int32") => TargetsRef::Class(&y_class),
        _ => TargetsRef::Float(&y_float),
    };
    let mask: Option<Vec<f32>> = case.get("mask").map(|m| input(&tensor(m).1));
    let batch = Batch { x: InputsRef::Float(&x), x_dims, y: targets, mask: mask.as_deref(), lengths: None };
    let loss = field(case, "loss").as_str().expect("loss");
    model
        .compile(&format!(r#"{{"loss":"{loss}","optimizer":{{"type":"sgd","lr":{READBACK_LR}}}}}"#))
        .expect("compile");

    let want_loss = field(case, "loss_value").as_f64().expect("loss_value");
    let evaluated = model.evaluate(&batch).expect("evaluate");
    assert_close(&[evaluated], &[want_loss as f32], F32_ATOL, F32_RTOL, "evaluate loss");
    let before = model.params().to_vec();
    let stepped = model.train_step(&batch).expect("train_step");
    assert_close(&[stepped], &[want_loss as f32], F32_ATOL, F32_RTOL, "train_step loss");
    let applied: Vec<f32> = before.iter().zip(model.params()).map(|(b, a)| (b - a) / READBACK_LR as f32).collect();
    let want_grads = flat_params(&layout, field(case, "grads"), |v| v.to_vec());
    for p in &layout {
        assert_close(&applied[p.range()], &reference::<f32>(&want_grads[p.range()]), F32_ATOL, F32_RTOL, &format!("d{}", p.name));
    }
}

#[test]
fn head_and_loss_match_pytorch() {
    run_cases("head_loss.json", "head+loss", check_head);
}
