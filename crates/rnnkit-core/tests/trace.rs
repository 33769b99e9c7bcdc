//! `Model::trace`: the per-step hidden states, cell states and gates it reports must be the ones the
//! real forward pass computes (its output sequence and final states), gates must stay in their
//! activation's range, and the panel list and JSON meta must describe the values exactly.

mod common;

use common::{assert_close, uniform_vec};
use rnnkit_core::json::Json;
use rnnkit_core::model::ForwardOptions;
use rnnkit_core::rng::Rng;
use rnnkit_core::trace::{PanelKind, Trace};
use rnnkit_core::{Error, Model};

/// The trace steps the cells with scalar dot products, forward uses the SIMD GEMMs: they differ by
/// rounding only (a few ulps per length-K dot product, K ≤ 16 here, through ≤ 7 steps).
const TRACE_ATOL: f64 = 2e-5;

/// Hidden-state panels of block `k`, layer `l`, in direction order.
fn hidden(trace: &Trace, k: usize, l: usize) -> Vec<&rnnkit_core::trace::TracePanel> {
    trace.panels.iter().filter(|p| p.kind == PanelKind::Hidden && p.block == k && p.layer == l).collect()
}

#[test]
fn hidden_states_equal_forward_outputs_and_final_states() {
    let cases = [
        (r#"{"cell":"lstm","input_size":3,"hidden_size":4,"num_layers":2,"bidirectional":true}"#, true),
        (r#"{"cell":"gru","input_size":3,"hidden_size":5,"num_layers":2}"#, false),
        (r#"{"cell":"rnn_tanh","input_size":3,"hidden_size":3,"bidirectional":true}"#, true),
        (r#"{"cell":"rnn_relu","input_size":3,"hidden_size":6}"#, false),
        // The structural variants, as `layers` entries: a gated recurrence, a diagonal one, reverse-only.
        (r#"{"type":"GRU","config":{"input_size":3,"hidden_size":4,"num_layers":2,"direction":"bidirectional","reset_after":false}}"#, true),
        (r#"{"type":"IndRNN","config":{"input_size":3,"hidden_size":5,"direction":"reverse","nonlinearity":"tanh"}}"#, false),
        (r#"{"type":"LSTM","config":{"input_size":3,"hidden_size":4,"num_layers":2,"direction":"reverse"}}"#, true),
        // A projected h (proj_size features) with c of hidden_size.
        (r#"{"type":"LSTM","config":{"input_size":3,"hidden_size":5,"proj_size":2,"num_layers":2,"direction":"bidirectional","peephole":true}}"#, false),
    ];
    let t = 7;
    let mut rng = Rng::new(21);
    for (block, batch_first) in cases {
        let list = if block.contains(r#""type""#) { "layers" } else { "blocks" };
        let spec = format!(r#"{{"batch_first":{batch_first},"seed":2,"{list}":[{block}]}}"#);
        let mut m = Model::from_json(&spec).unwrap();
        let x: Vec<f32> = uniform_vec(&mut rng, t * 3, -1.5, 1.5);
        let dims = if batch_first { [1, t, 3] } else { [t, 1, 3] };
        let fwd = m.forward(&x, dims, &ForwardOptions::default()).unwrap();
        let trace = m.trace(&x, dims).unwrap();
        assert_eq!(trace.steps, t);
        let bs = &m.spec().recurrent_spec(0).unwrap();
        // h has sw features (proj_size with a projection), c hd.
        let (hd, dirs, sw) = (bs.hidden_size, bs.directions(), bs.state_size());
        // The last layer's h, directions side by side, is the model's output sequence.
        let top = hidden(&trace, 0, bs.num_layers - 1);
        assert_eq!(top.len(), dirs, "{block}");
        let mut seq = vec![0f32; t * dirs * sw];
        for (d, p) in top.iter().enumerate() {
            assert_eq!((p.units, p.values.len(), p.direction), (sw, t * sw, d));
            for s in 0..t {
                seq[(s * dirs + d) * sw..(s * dirs + d + 1) * sw].copy_from_slice(&p.values[s * sw..(s + 1) * sw]);
            }
        }
        assert_close(&seq, &fwd.output, TRACE_ATOL, 0.0, &format!("{block}: output"));
        // Every layer and direction: h_n (and c_n) is the trace at its last processed step.
        for l in 0..bs.num_layers {
            for d in 0..dirs {
                let (row, c_row) = ((l * dirs + d) * sw, (l * dirs + d) * hd);
                let last = if bs.scans_reverse(d) { 0 } else { t - 1 };
                let h = &hidden(&trace, 0, l)[d].values[last * sw..(last + 1) * sw];
                assert_close(h, &fwd.states[0][row..row + sw], TRACE_ATOL, 0.0, &format!("{block}: h_n l{l} d{d}"));
                if bs.cell.has_cell_state() {
                    let c = trace.panels.iter().find(|p| p.kind == PanelKind::Cell && p.layer == l && p.direction == d).unwrap();
                    assert_close(&c.values[last * hd..(last + 1) * hd], &fwd.states[1][c_row..c_row + hd], TRACE_ATOL, 0.0, &format!("{block}: c_n l{l} d{d}"));
                }
            }
        }
    }
}

#[test]
fn gates_are_complete_named_and_within_their_activation_range() {
    let spec = r#"{"batch_first":true,"seed":9,"blocks":[{"cell":"lstm","input_size":2,"hidden_size":3},
        {"cell":"gru","input_size":3,"hidden_size":4,"bidirectional":true}],"head":{"units":1}}"#;
    let mut m = Model::from_json(spec).unwrap();
    let t = 6;
    // Large inputs push the gates into saturation: the ranges must still hold.
    let x: Vec<f32> = uniform_vec(&mut Rng::new(3), t * 2, -6.0, 6.0);
    let trace = m.trace(&x, [1, t, 2]).unwrap();
    let names: Vec<&str> = trace.panels.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        &names[..6],
        &[
            "block 0 layer 0 hidden state h",
            "block 0 layer 0 cell state c",
            "block 0 layer 0 gate i (input)",
            "block 0 layer 0 gate f (forget)",
            "block 0 layer 0 gate g (candidate)",
            "block 0 layer 0 gate o (output)",
        ]
    );
    assert_eq!(names[6], "block 1 layer 0 forward hidden state h");
    assert_eq!(names.len(), 6 + 2 * 4 + 1, "GRU: h and r, z, n per direction; then the Dense layer's output");
    assert_eq!(names[14], "block 2 Dense output");
    assert!(names.contains(&"block 1 layer 0 reverse gate z (update)"));
    for p in &trace.panels {
        assert_eq!(p.values.len(), t * p.units, "{}", p.name);
        let (lo, hi) = match p.activation {
            "sigmoid" => (0.0, 1.0),
            "tanh" => (-1.0, 1.0),
            "none" => (f32::NEG_INFINITY, f32::INFINITY),
            other => panic!("unexpected activation {other} for {}", p.name),
        };
        assert!(p.values.iter().all(|v| v.is_finite() && (lo..=hi).contains(v)), "{} outside [{lo}, {hi}]", p.name);
    }
    // Gates really vary (a constant panel would mean a wrong slice).
    let f = trace.panels.iter().find(|p| p.name.ends_with("gate f (forget)")).unwrap();
    assert!(f.values.iter().any(|v| (v - f.values[0]).abs() > 1e-3));
}

#[test]
fn meta_json_indexes_the_flat_values() {
    let mut m = Model::from_json(r#"{"batch_first":true,"blocks":[{"cell":"gru","input_size":1,"hidden_size":2}]}"#).unwrap();
    let trace = m.trace(&[0.5, -0.25, 1.0], [1, 3, 1]).unwrap();
    let meta = Json::parse(&trace.meta_json()).unwrap();
    assert_eq!(meta.get("steps").and_then(Json::as_f64), Some(3.0));
    let flat = trace.flat_values();
    let panels = meta.get("panels").and_then(Json::as_arr).unwrap();
    assert_eq!(panels.len(), trace.panels.len());
    for (j, p) in panels.iter().zip(&trace.panels) {
        let offset = j.get("offset").and_then(Json::as_f64).unwrap() as usize;
        assert_eq!(j.get("name").and_then(Json::as_str), Some(p.name.as_str()));
        assert_eq!(j.get("kind").and_then(Json::as_str), Some(p.kind.name()));
        assert_eq!(&flat[offset..offset + p.values.len()], &p.values[..]);
    }
}

#[test]
fn more_than_one_sequence_is_a_shape_error() {
    let mut m = Model::from_json(r#"{"batch_first":true,"blocks":[{"cell":"lstm","input_size":1,"hidden_size":2}]}"#).unwrap();
    match m.trace(&[0.0; 6], [2, 3, 1]) {
        Err(Error::Shape { arg, expected, .. }) => {
            assert_eq!(arg, "x");
            assert!(expected.contains("one sequence"), "{expected}");
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    assert!(matches!(m.trace(&[f32::NAN, 0.0, 0.0], [1, 3, 1]), Err(Error::Value { .. })));
}
