//! Kernel tests: every tier `Isa::supported()` reports (skipped tiers are printed) against the oracles:
//! `real::gemm_reference` for sgemm (all transposes, β ∈ {0, ½}, odd strides, NaN canaries), f64 std for
//! exp/sigmoid/tanh (dense sweep) and the scalar table for tails; `sgemm_packed` against `sgemm` (bit for
//! bit); the denormal guard. Also `for_isa` errors and `RNNKIT_ISA`.
//! Run: `cargo test -p rnnkit-core --test kernels` (add `-- --nocapture` to see skipped tiers and error maxima).

use std::hint::black_box;

use rnnkit_core::kernels::{init_kernels, kernels, pack_row_weights, FlushDenormals, Isa, Kernels, PackedB, RowWeights};
use rnnkit_core::real::gemm_reference;
use rnnkit_core::rng::Rng;
use rnnkit_core::Error;

/// f32 unit roundoff, 2⁻²⁴.
const EPS: f64 = f32::EPSILON as f64 / 2.0;
/// Each of two f32 GEMMs (tier and reference) of depth k is within (k + 2)·ε·(|α|·|A||B| + |β|·|C|)
/// of the exact result (k adds, the α and β products); their difference within twice that.
const GEMM_ERR_FACTOR: f64 = 2.0;
/// Absolute error of sigmoid and tanh vs f64 std, the target stated in math.rs.
const ACT_ABS_TOL: f64 = 2e-7;
/// Relative error of exp vs f64 std on [EXP_MIN, EXP_MAX] (math.rs).
const EXP_REL_TOL: f64 = 5e-7;
/// Relative error of tanh where its odd polynomial runs (|x| < 0.625), down to subnormals.
const TANH_SMALL_REL_TOL: f64 = 2e-7;
/// Same formula, FMA vs mul+add: tiers may differ from scalar by a few ulps of the result's scale.
const TIER_VS_SCALAR_ABS_TOL: f64 = 4e-7;
/// The clamp range of math.rs's exp (finite results outside it).
const EXP_MIN: f32 = -87.3;
const EXP_MAX: f32 = 88.3;
/// A NaN with a payload no arithmetic produces, so "canary survived" is a bit comparison.
const CANARY: f32 = f32::from_bits(0x7fc0_dead);

fn is_canary(x: f32) -> bool {
    x.to_bits() == CANARY.to_bits()
}

/// Kernel tables for every supported tier, printing those this machine or build skips.
fn tiers() -> Vec<Kernels> {
    Isa::ALL
        .into_iter()
        .filter_map(|isa| match Kernels::for_isa(isa) {
            Ok(k) => Some(k),
            Err(_) => {
                println!("skipping tier {}: not supported on this machine/build", isa.name());
                None
            }
        })
        .collect()
}

fn rand_vec(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(lo, hi) as f32).collect()
}

/// A stored `rows × cols` matrix with row stride `cols + pad`; the padding holds canaries, so any
/// read of it poisons the result.
fn strided(rng: &mut Rng, rows: usize, cols: usize, pad: usize) -> (Vec<f32>, usize) {
    let ld = cols + pad;
    let mut m = vec![CANARY; rows * ld];
    for r in 0..rows {
        for c in 0..cols {
            m[r * ld + c] = rng.uniform(-1.0, 1.0) as f32;
        }
    }
    (m, ld.max(1))
}

struct GemmCase {
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    beta: f32,
}

/// Runs one case on every tier and checks values, the β = 0 overwrite and the canaries.
fn check_gemm(tiers: &[Kernels], rng: &mut Rng, g: &GemmCase) {
    let GemmCase { ta, tb, m, n, k, alpha, beta } = *g;
    let (a, lda) = if ta { strided(rng, k, m, 3) } else { strided(rng, m, k, 3) };
    let (b, ldb) = if tb { strided(rng, n, k, 1) } else { strided(rng, k, n, 1) };
    let ldc = n + 5;
    // C: canaries everywhere, plus a canary tail; inside the m×n region NaN when β = 0 (must be
    // overwritten, never read), else values.
    let mut c0 = vec![CANARY; m * ldc + 7];
    for i in 0..m {
        for j in 0..n {
            c0[i * ldc + j] = if beta == 0.0 { f32::NAN } else { rng.uniform(-1.0, 1.0) as f32 };
        }
    }
    let mut want = c0.clone();
    gemm_reference(ta, tb, m, n, k, alpha, &a, lda, &b, ldb, beta, &mut want, ldc);
    // Error scale per element: |α|·|op(A)||op(B)| + |β|·|C| in f64.
    let abs64 = |v: &[f32]| v.iter().map(|x| if x.is_nan() { 0.0 } else { x.abs() as f64 }).collect::<Vec<f64>>();
    let mut scale = abs64(&c0);
    gemm_reference(ta, tb, m, n, k, alpha.abs() as f64, &abs64(&a), lda, &abs64(&b), ldb, beta.abs() as f64, &mut scale, ldc);

    for kern in tiers {
        let mut got = c0.clone();
        (kern.sgemm)(ta, tb, m, n, k, alpha, &a, lda, &b, ldb, beta, &mut got, ldc);
        let what = format!("{} ta={ta} tb={tb} m={m} n={n} k={k} α={alpha} β={beta}", kern.sgemm_name);
        for (idx, (&g, &w)) in got.iter().zip(&want).enumerate() {
            let (i, j) = (idx / ldc, idx % ldc);
            if i < m && j < n {
                let tol = GEMM_ERR_FACTOR * (k as f64 + 2.0) * EPS * scale[idx] + f64::MIN_POSITIVE;
                assert!(
                    g.is_finite() && (g as f64 - w as f64).abs() <= tol,
                    "{what}: C[{i},{j}] got {g}, want {w} (tol {tol:e})"
                );
            } else {
                assert!(is_canary(g), "{what}: canary at flat index {idx} (row {i}, col {j}) overwritten with {g}");
            }
        }
    }
}

#[test]
fn sgemm_sweep_matches_reference_on_every_tier() {
    let tiers = tiers();
    let mut rng = Rng::new(7);
    const SIZES: [usize; 15] = [0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65];
    let mut cases = 0;
    for (im, &m) in SIZES.iter().enumerate() {
        for (in_, &n) in SIZES.iter().enumerate() {
            for (ik, &k) in SIZES.iter().enumerate() {
                // A third of all triples (every m, n and k still appears with every other), plus k ≤ 1.
                if (im + in_ + ik) % 3 != 0 && k > 1 {
                    continue;
                }
                for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                    for beta in [0.0, 0.5] {
                        let alpha = if (im + ik) % 2 == 0 { 1.0 } else { -0.75 };
                        check_gemm(&tiers, &mut rng, &GemmCase { ta, tb, m, n, k, alpha, beta });
                        cases += 1;
                    }
                }
            }
        }
    }
    println!("sgemm sweep: {cases} cases × {} tiers", tiers.len());
}

/// Crosses every blocking boundary of every tier: m > MC, k > KC (so β applies to the first k block
/// only), n > NC (LOOP 5 runs twice), with ragged edges everywhere.
#[test]
fn sgemm_crosses_cache_blocks() {
    let tiers = tiers();
    let mut rng = Rng::new(11);
    for (ta, tb, beta) in [(false, false, 0.5), (true, true, 0.0), (false, true, 0.0), (true, false, 0.5)] {
        check_gemm(&tiers, &mut rng, &GemmCase { ta, tb, m: 263, n: 2061, k: 261, alpha: 1.0, beta });
    }
}

/// The workload shape of a recurrent step (batch 32, hidden 256 → 4·256 gates), hidden size of an
/// RNN layer: a wide, short GEMM as cells issue it.
#[test]
fn sgemm_recurrent_step_shape() {
    let tiers = tiers();
    let mut rng = Rng::new(12);
    check_gemm(&tiers, &mut rng, &GemmCase { ta: false, tb: true, m: 32, n: 1024, k: 256, alpha: 1.0, beta: 1.0 });
}

/// A row of a batch equals the same row computed alone, bit for bit, on every tier (gemm.rs's promise:
/// every element sees the same operation sequence regardless of its tile position).
#[test]
fn sgemm_batch_row_equals_row_alone() {
    let mut rng = Rng::new(13);
    let (m, n, k) = (37, 45, 70);
    let a = rand_vec(&mut rng, m * k, -1.0, 1.0);
    let b = rand_vec(&mut rng, n * k, -1.0, 1.0);
    for kern in tiers() {
        let mut all = vec![0.0; m * n];
        (kern.sgemm)(false, true, m, n, k, 1.0, &a, k, &b, k, 0.0, &mut all, n);
        for i in [0, 5, 36] {
            let mut one = vec![0.0; n];
            (kern.sgemm)(false, true, 1, n, k, 1.0, &a[i * k..(i + 1) * k], k, &b, k, 0.0, &mut one, n);
            assert_eq!(&all[i * n..(i + 1) * n], &one[..], "{}: row {i}", kern.sgemm_name);
        }
    }
}

/// op(A) read in place (rows stored contiguously, A as given) and packed (A stored transposed) give
/// the same C bit for bit on every tier: the two layouts of one matrix take the two A paths of gemm.rs,
/// across several B panels, ragged row tiles, k > KC and β ≠ 0, with B unpacked and packed.
#[test]
fn sgemm_a_in_place_equals_a_packed() {
    let mut rng = Rng::new(14);
    for kern in tiers() {
        for &(m, n, k, beta) in &[(32, 1024, 321, 1.0), (37, 300, 70, 0.0), (200, 130, 400, 0.5), (11, 65, 1000, 1.0)] {
            let a = rand_vec(&mut rng, m * k, -1.0, 1.0);
            let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
            let b = rand_vec(&mut rng, n * k, -1.0, 1.0);
            let c0 = rand_vec(&mut rng, m * n, -1.0, 1.0);
            let what = format!("{} m={m} n={n} k={k} β={beta}", kern.sgemm_name);
            let (mut in_place, mut packed_a) = (c0.clone(), c0.clone());
            (kern.sgemm)(false, true, m, n, k, 0.75, &a, k, &b, k, beta, &mut in_place, n);
            (kern.sgemm)(true, true, m, n, k, 0.75, &at, m, &b, k, beta, &mut packed_a, n);
            assert_eq!(in_place, packed_a, "{what}: sgemm");
            let mut packed = PackedB::new();
            (kern.pack_b)(true, k, n, &b, k, &mut packed);
            let (mut in_place, mut packed_a) = (c0.clone(), c0.clone());
            (kern.sgemm_packed)(false, m, 0, n, k, 0.75, &a, k, &packed, beta, &mut in_place, n);
            (kern.sgemm_packed)(true, m, 0, n, k, 0.75, &at, m, &packed, beta, &mut packed_a, n);
            assert_eq!(in_place, packed_a, "{what}: sgemm_packed");
        }
    }
}

/// k = 0 is an empty sum: C ← β·C, and β = 0 writes zeros over NaN.
#[test]
fn sgemm_k_zero_scales_c() {
    for kern in tiers() {
        let mut c = vec![2.0, 4.0, CANARY, 6.0, 8.0, CANARY];
        (kern.sgemm)(false, false, 2, 2, 0, 1.0, &[], 1, &[], 2, 0.5, &mut c, 3);
        assert_eq!(&c[..2], &[1.0, 2.0]);
        assert_eq!(&c[3..5], &[3.0, 4.0]);
        assert!(is_canary(c[2]) && is_canary(c[5]), "{}", kern.sgemm_name);
        let mut c = vec![f32::NAN; 4];
        (kern.sgemm)(true, true, 2, 2, 0, 1.0, &[], 2, &[], 1, 0.0, &mut c, 2);
        assert_eq!(c, vec![0.0; 4], "{}", kern.sgemm_name);
    }
}

/// Lengths that hit every tail for lane counts 1, 4, 8, 16: 0, 1, L−1, L, L+1, 2L+3, 17, 257.
const SLICE_SIZES: [usize; 16] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 15, 16, 17, 19, 35, 257];

type Unary = fn(&mut [f32]);
/// (name, tier slot, f64 reference).
type UnarySlot = (&'static str, Unary, fn(f64) -> f64);

fn unary_slots(k: &Kernels) -> [UnarySlot; 3] {
    [
        ("exp", k.exp, f64::exp),
        ("sigmoid", k.sigmoid, |x| 1.0 / (1.0 + (-x).exp())),
        ("tanh", k.tanh, f64::tanh),
    ]
}

#[test]
fn activations_tails_canaries_and_scalar_agreement() {
    let scalar = Kernels::scalar();
    let mut rng = Rng::new(21);
    for kern in tiers() {
        for ((name, f, _), (_, f_scalar, _)) in unary_slots(&kern).into_iter().zip(unary_slots(&scalar)) {
            for n in SLICE_SIZES {
                let x = rand_vec(&mut rng, n, -12.0, 12.0);
                let mut buf = x.clone();
                buf.extend([CANARY; 5]);
                f(&mut buf[..n]);
                assert!(buf[n..].iter().all(|&v| is_canary(v)), "{} {name} n={n}: wrote past the end", kern.isa.name());
                let mut want = x.clone();
                f_scalar(&mut want);
                for i in 0..n {
                    // exp grows with x: compare it relatively, the bounded activations absolutely.
                    let scale = if name == "exp" { want[i].abs() as f64 } else { 1.0 };
                    let d = (buf[i] as f64 - want[i] as f64).abs();
                    assert!(d <= TIER_VS_SCALAR_ABS_TOL * scale, "{} {name} n={n} x={}: got {}, scalar {}", kern.isa.name(), x[i], buf[i], want[i]);
                }
            }
        }
    }
}

#[test]
fn activations_special_values() {
    for kern in tiers() {
        let isa = kern.isa.name();
        let x = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 1e30, -1e30, f32::MAX, f32::MIN_POSITIVE / 4.0];
        let mut s = x;
        (kern.sigmoid)(&mut s);
        assert!(s[0].is_nan(), "{isa} sigmoid(NaN)");
        // exp's clamp makes sigmoid(−∞) = 1/(1 + e^88.3) ≈ 4.6e-39 rather than 0: zero to f32 accuracy.
        assert_eq!([s[1], s[3], s[4], s[5]], [1.0, 0.5, 0.5, 1.0], "{isa} sigmoid limits {s:?}");
        assert!(s[2] < 1e-37 && s[6] < 1e-37, "{isa} sigmoid(-inf), sigmoid(-1e30): {s:?}");
        assert!(s.iter().skip(1).all(|v| (0.0..=1.0).contains(v)), "{isa} sigmoid in [0,1]: {s:?}");
        let mut t = x;
        (kern.tanh)(&mut t);
        assert!(t[0].is_nan(), "{isa} tanh(NaN)");
        assert_eq!(&t[1..8], &[1.0, -1.0, 0.0, -0.0, 1.0, -1.0, 1.0], "{isa} tanh limits");
        assert!(t[4].is_sign_negative(), "{isa} tanh(-0) = -0");
        assert_eq!(t[8], x[8], "{isa} tanh(subnormal) = subnormal");
        let mut e = x;
        (kern.exp)(&mut e);
        assert!(e[0].is_nan(), "{isa} exp(NaN)");
        assert!(e[1].is_finite() && e[1] > 1e38, "{isa} exp(inf) finite and huge: {}", e[1]);
        assert!(e[2] >= 0.0 && e[2] <= 1.22e-38, "{isa} exp(-inf) = e^EXP_MIN: {}", e[2]);
        assert_eq!(e[3], 1.0, "{isa} exp(0)");
        assert!(e.iter().skip(1).all(|v| v.is_finite()), "{isa} exp finite: {e:?}");
    }
}

/// Dense sweep against f64 std: 2·10⁶ points on |x| ≤ 30 plus the whole exp range, per tier.
#[test]
fn math_accuracy_against_f64() {
    const POINTS: usize = 2_000_000;
    let sweep: Vec<f32> = (0..=POINTS).map(|i| (-30.0 + 60.0 * i as f64 / POINTS as f64) as f32).collect();
    let exp_sweep: Vec<f32> = (0..=POINTS)
        .map(|i| (EXP_MIN as f64 + (EXP_MAX - EXP_MIN) as f64 * i as f64 / POINTS as f64) as f32)
        .filter(|x| (EXP_MIN..=EXP_MAX).contains(x))
        .collect();
    // |x| < 0.625 geometrically down to subnormals, where tanh must be accurate in relative terms.
    let small: Vec<f32> = (0..200_000).map(|i| 0.6249 * (-(i as f64) * 1e-3).exp2() as f32).filter(|&x| x != 0.0).collect();
    for kern in tiers() {
        let isa = kern.isa.name();
        let (mut s, mut t) = (sweep.clone(), sweep.clone());
        (kern.sigmoid)(&mut s);
        (kern.tanh)(&mut t);
        let (mut max_s, mut max_t) = (0.0f64, 0.0f64);
        for ((&x, &sv), &tv) in sweep.iter().zip(&s).zip(&t) {
            let x = x as f64;
            let ds = (sv as f64 - 1.0 / (1.0 + (-x).exp())).abs();
            let dt = (tv as f64 - x.tanh()).abs();
            assert!(ds <= ACT_ABS_TOL, "{isa} sigmoid({x}) = {sv}, error {ds:e}");
            assert!(dt <= ACT_ABS_TOL, "{isa} tanh({x}) = {tv}, error {dt:e}");
            max_s = max_s.max(ds);
            max_t = max_t.max(dt);
        }
        let mut e = exp_sweep.clone();
        (kern.exp)(&mut e);
        let mut max_e = 0.0f64;
        for (&x, &ev) in exp_sweep.iter().zip(&e) {
            let want = (x as f64).exp();
            let r = (ev as f64 - want).abs() / want;
            assert!(r <= EXP_REL_TOL, "{isa} exp({x}) = {ev}, relative error {r:e}");
            max_e = max_e.max(r);
        }
        let mut ts = small.iter().flat_map(|&x| [x, -x]).collect::<Vec<f32>>();
        let xs = ts.clone();
        (kern.tanh)(&mut ts);
        let mut max_ts = 0.0f64;
        for (&x, &tv) in xs.iter().zip(&ts) {
            let want = (x as f64).tanh();
            let r = (tv as f64 - want).abs() / want.abs();
            // Below ~1e-38 the f32 result is subnormal and can only be relative-exact to its ulp.
            let tol = TANH_SMALL_REL_TOL.max(f32::from_bits(1) as f64 / want.abs());
            assert!(r <= tol, "{isa} tanh({x}) = {tv}, relative error {r:e}");
            max_ts = max_ts.max(if want.abs() > 1e-37 { r } else { 0.0 });
        }
        println!("{isa}: max |err| sigmoid {max_s:.2e}, tanh {max_t:.2e}; max rel err exp {max_e:.2e}, tanh(|x|<0.625) {max_ts:.2e}");
    }
}

#[test]
fn axpy_and_dot_tails_and_canaries() {
    let mut rng = Rng::new(31);
    for kern in tiers() {
        let isa = kern.isa.name();
        for n in SLICE_SIZES {
            let x = rand_vec(&mut rng, n, -2.0, 2.0);
            let y0 = rand_vec(&mut rng, n, -2.0, 2.0);
            let a = rng.uniform(-2.0, 2.0) as f32;
            let mut y = y0.clone();
            y.extend([CANARY; 5]);
            (kern.axpy)(a, &x, &mut y[..n]);
            assert!(y[n..].iter().all(|&v| is_canary(v)), "{isa} axpy n={n}: wrote past the end");
            for i in 0..n {
                let want = a as f64 * x[i] as f64 + y0[i] as f64;
                // One product and one sum, each rounded at most once: 2ε of the operands' magnitude.
                let tol = 2.0 * EPS * ((a * x[i]).abs() as f64 + y0[i].abs() as f64);
                assert!((y[i] as f64 - want).abs() <= tol, "{isa} axpy n={n} i={i}: got {}, want {want}", y[i]);
            }
            // dot: canaries just past both inputs must not be read (NaN would poison the sum).
            let mut xs = x.clone();
            xs.push(CANARY);
            let mut ys = y0.clone();
            ys.push(CANARY);
            let got = (kern.dot)(&xs[..n], &ys[..n]);
            let want: f64 = x.iter().zip(&y0).map(|(&p, &q)| p as f64 * q as f64).sum();
            let mag: f64 = x.iter().zip(&y0).map(|(&p, &q)| (p as f64 * q as f64).abs()).sum();
            // A length-n dot in any summation order: at most n·ε·Σ|x_i y_i| from the f64 value.
            let tol = n as f64 * EPS * mag;
            assert!((got as f64 - want).abs() <= tol, "{isa} dot n={n}: got {got}, want {want} (tol {tol:e})");
        }
        // Mismatched lengths use the common prefix.
        let mut y = vec![1.0, 1.0, 1.0];
        (kern.axpy)(2.0, &[1.0, 2.0], &mut y);
        assert_eq!(y, vec![3.0, 5.0, 1.0], "{isa} axpy prefix");
        assert_eq!((kern.dot)(&[1.0, 2.0, 3.0], &[4.0, 5.0]), 14.0, "{isa} dot prefix");
    }
}

#[test]
fn for_isa_rejects_unsupported_tiers() {
    for isa in Isa::ALL {
        match Kernels::for_isa(isa) {
            Ok(k) => {
                assert!(isa.is_supported());
                assert_eq!(k.isa, isa);
                assert!(k.sgemm_name.starts_with(isa.name()), "{isa:?} table runs {}", k.sgemm_name);
            }
            Err(e) => {
                assert!(!isa.is_supported(), "{isa:?} supported but for_isa failed: {e}");
                assert!(matches!(e, Error::Unsupported { .. }), "{isa:?}: {e:?}");
                assert_eq!(e.code(), "ERR_RNNKIT_UNSUPPORTED");
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    assert!(matches!(Kernels::for_isa(Isa::Simd128), Err(Error::Unsupported { .. })));
    assert!(Isa::supported().contains(&Isa::Scalar));
    assert_eq!(Isa::best(), *Isa::supported().last().unwrap());
}

#[test]
fn isa_names_parse() {
    for isa in Isa::ALL {
        assert_eq!(Isa::from_name(isa.name()), Ok(isa));
    }
    for bad in ["", "AVX2", "sse", "avx-512", "scalar "] {
        let e = Isa::from_name(bad).unwrap_err();
        assert_eq!(e.arg(), Some("RNNKIT_ISA"), "{bad:?}");
        assert_eq!(e.code(), "ERR_RNNKIT_VALUE");
        assert!(e.to_string().contains(bad), "{e}");
    }
}

/// `RNNKIT_ISA` is read once per process, so each setting runs in a child copy of this test binary
/// (the `rnnkit_isa_child` test below), which checks what `RNNKIT_KERNELS_EXPECT` says.
#[test]
fn rnnkit_isa_env_override() {
    let mut runs: Vec<(&str, String)> = vec![
        ("scalar", "ok:scalar".into()),
        ("bogus", "err:ERR_RNNKIT_VALUE".into()),
        ("", format!("ok:{}", Isa::best().name())),
    ];
    for isa in [Isa::Simd128, Isa::Avx2, Isa::Avx512] {
        let expect = if isa.is_supported() { format!("ok:{}", isa.name()) } else { "err:ERR_RNNKIT_UNSUPPORTED".into() };
        runs.push((isa.name(), expect));
    }
    let exe = std::env::current_exe().unwrap();
    for (value, expect) in runs {
        let out = std::process::Command::new(&exe)
            .args(["--exact", "rnnkit_isa_child", "--nocapture", "--test-threads=1"])
            .env("RNNKIT_ISA", value)
            .env("RNNKIT_KERNELS_EXPECT", &expect)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("1 passed"), "RNNKIT_ISA={value:?} expecting {expect}:\n{text}{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn rnnkit_isa_child() {
    let Ok(expect) = std::env::var("RNNKIT_KERNELS_EXPECT") else { return };
    match (init_kernels(), expect.split_once(':').unwrap()) {
        (Ok(k), ("ok", name)) => {
            assert_eq!(k.isa.name(), name);
            assert_eq!(kernels().isa.name(), name);
        }
        (Err(e), ("err", code)) => {
            assert_eq!(e.code(), code, "{e}");
            // A failed selection still leaves a usable scalar table for direct callers.
            assert_eq!(kernels().isa, Isa::Scalar);
        }
        (got, _) => panic!("RNNKIT_ISA={:?}: expected {expect}, got {:?}", std::env::var("RNNKIT_ISA"), got.map(|k| k.isa)),
    }
}

/// CI runs the suite once per forced tier; this fails if the forced tier was not really selected
/// (matrixmultiply's MMTEST_ENSUREFEATURE).
#[test]
fn forced_isa_is_really_selected() {
    if std::env::var("RNNKIT_KERNELS_EXPECT").is_ok() {
        return; // a child run of rnnkit_isa_env_override
    }
    match std::env::var("RNNKIT_ISA") {
        Ok(name) if !name.is_empty() => {
            let k = init_kernels().unwrap_or_else(|e| panic!("RNNKIT_ISA={name}: {e}"));
            assert_eq!(k.isa.name(), name);
        }
        _ => assert_eq!(kernels().isa, Isa::best()),
    }
}

/// `sgemm_packed` (B packed once) equals `sgemm` bit for bit on every tier, for both B layouts, over
/// column ranges starting at any panel boundary (how threads split n), ragged m / n / k, k > KC, β ≠ 0.
#[test]
fn sgemm_packed_equals_sgemm_bit_for_bit() {
    let mut rng = Rng::new(21);
    for kern in tiers() {
        for &(m, n, k, tb, beta) in &[(1, 70, 33, true, 0.0), (2, 257, 64, false, 1.0), (13, 100, 300, true, 0.5), (37, 1024, 256, true, 1.0), (5, 9, 1, false, 0.0)] {
            let a = rand_vec(&mut rng, m * k, -1.0, 1.0);
            let b = rand_vec(&mut rng, n * k, -1.0, 1.0);
            let ldb = if tb { k } else { n };
            let c0 = rand_vec(&mut rng, m * n, -1.0, 1.0);
            let mut want = c0.clone();
            (kern.sgemm)(false, tb, m, n, k, 0.75, &a, k, &b, ldb, beta, &mut want, n);
            let mut packed = PackedB::new();
            (kern.pack_b)(tb, k, n, &b, ldb, &mut packed);
            assert_eq!((packed.k(), packed.n()), (k, n));
            let nr = packed.nr();
            let what = format!("{} m={m} n={n} k={k} tb={tb} β={beta}", kern.sgemm_name);
            let mut got = c0.clone();
            (kern.sgemm_packed)(false, m, 0, n, k, 0.75, &a, k, &packed, beta, &mut got, n);
            assert_eq!(got, want, "{what}: whole");
            // Two column ranges split at a panel boundary, as a thread pool would issue them.
            let split = (n / 2 / nr * nr).max(nr).min(n);
            let mut got = c0.clone();
            (kern.sgemm_packed)(false, m, 0, split, k, 0.75, &a, k, &packed, beta, &mut got, n);
            if split < n {
                (kern.sgemm_packed)(false, m, split, n - split, k, 0.75, &a, k, &packed, beta, &mut got[split..], n);
            }
            assert_eq!(got, want, "{what}: split at column {split}");
        }
    }
}

/// Row blocks of a packed-B GEMM, as a thread pool splits the per-step GEMM by batch rows, equal the
/// whole product bit for bit: every block size takes a different path through gemm.rs (one or two rows
/// read A in place, short micro-panels use smaller tiles, full MR tiles), yet each element's sum must be
/// the same. Also with A transposed (read in place with a row stride of 1).
#[test]
fn sgemm_packed_row_blocks_equal_whole() {
    let mut rng = Rng::new(22);
    let (m, n, k) = (32, 300, 70);
    let b = rand_vec(&mut rng, n * k, -1.0, 1.0);
    let c0 = rand_vec(&mut rng, m * n, -1.0, 1.0);
    for kern in tiers() {
        let mut packed = PackedB::new();
        (kern.pack_b)(true, k, n, &b, k, &mut packed);
        for ta in [false, true] {
            let a = rand_vec(&mut rng, m * k, -1.0, 1.0);
            let lda = if ta { m } else { k };
            let mut want = c0.clone();
            (kern.sgemm_packed)(ta, m, 0, n, k, 1.0, &a, lda, &packed, 1.0, &mut want, n);
            for cuts in [&[1usize, 2, 3, 16][..], &[2, 13], &[16], &[31], &[5, 6, 7, 8]] {
                let mut got = c0.clone();
                let mut bounds = vec![0];
                bounds.extend_from_slice(cuts);
                bounds.push(m);
                for w in bounds.windows(2) {
                    let (i0, rows) = (w[0], w[1] - w[0]);
                    let a_part = if ta { &a[i0..] } else { &a[i0 * k..] };
                    (kern.sgemm_packed)(ta, rows, 0, n, k, 1.0, a_part, lda, &packed, 1.0, &mut got[i0 * n..], n);
                }
                assert_eq!(got, want, "{} ta={ta} row cuts {cuts:?}", kern.sgemm_name);
            }
        }
    }
}

/// A random one-row step for `gates` gates of `hd` units: W_hh packed for `sgemm_packed` and for
/// the row steps, the row's projected gates and h_{t−1}.
struct RowCase {
    packed: PackedB,
    rows: RowWeights,
    proj: Vec<f32>,
    h_prev: Vec<f32>,
}

fn row_case(kern: &Kernels, rng: &mut Rng, gates: usize, hd: usize) -> RowCase {
    let gs = gates * hd;
    let w_hh = rand_vec(rng, gs * hd, -0.5, 0.5);
    let proj = rand_vec(rng, gs, -2.0, 2.0);
    let h_prev = rand_vec(rng, hd, -1.0, 1.0);
    let mut packed = PackedB::new();
    (kern.pack_b)(true, hd, gs, &w_hh, hd, &mut packed);
    let mut rows = RowWeights::default();
    pack_row_weights(gates, kern.lanes, hd, &w_hh, &mut rows);
    RowCase { packed, rows, proj, h_prev }
}

/// The fused one-row LSTM step equals the step GEMM (`sgemm_packed`, one row, β = 1) followed by
/// `lstm_forward`, bit for bit, on every tier: both group orders, an inactive row, one group, and
/// H = 400 past every tier's KC (two k blocks).
#[test]
fn lstm_row_step_equals_gemm_then_cell() {
    let mut rng = Rng::new(23);
    for kern in tiers() {
        for hd in [kern.lanes, 64, 400] {
            let gs = 4 * hd;
            let RowCase { packed, rows, proj, h_prev } = row_case(&kern, &mut rng, 4, hd);
            let c_prev = rand_vec(&mut rng, hd, -3.0, 3.0);
            let rows = rows.as_slice();
            for active in [true, false] {
                let mut want = (proj.clone(), vec![0.0; hd], vec![0.0; hd], vec![0.0; hd]);
                (kern.sgemm_packed)(false, 1, 0, gs, hd, 1.0, &h_prev, hd, &packed, 1.0, &mut want.0, gs);
                (kern.lstm_forward)(1, hd, &[active], &mut want.0, &c_prev, &mut want.1, &mut want.2, &h_prev, &mut want.3);
                for reverse in [false, true] {
                    let mut got = (proj.clone(), vec![0.0; hd], vec![0.0; hd], vec![0.0; hd]);
                    (kern.lstm_row_step)(hd, active, reverse, rows, &mut got.0, &c_prev, &mut got.1, &mut got.2, &h_prev, &mut got.3);
                    assert_eq!(got, want, "{} H={hd} active={active} reverse={reverse}: (gates, c, tanh c, h)", kern.sgemm_name);
                }
            }
        }
    }
}

/// The fused one-row GRU step equals the step GEMM into `gh` (β = 0) followed by `gru_forward`, bit
/// for bit, on every tier: with and without b_hn, both group orders, an inactive row, H past KC.
#[test]
fn gru_row_step_equals_gemm_then_cell() {
    let mut rng = Rng::new(24);
    for kern in tiers() {
        for hd in [kern.lanes, 64, 400] {
            let gs = 3 * hd;
            let RowCase { packed, rows, proj, h_prev } = row_case(&kern, &mut rng, 3, hd);
            let rows = rows.as_slice();
            let mut gh = vec![f32::NAN; gs];
            (kern.sgemm_packed)(false, 1, 0, gs, hd, 1.0, &h_prev, hd, &packed, 0.0, &mut gh, gs);
            for b_hn in [rand_vec(&mut rng, hd, -1.0, 1.0), Vec::new()] {
                for active in [true, false] {
                    let mut want = (proj.clone(), vec![0.0; hd], vec![0.0; hd]);
                    (kern.gru_forward)(1, hd, &[active], &mut want.0, &gh, &b_hn, &h_prev, &mut want.1, &mut want.2);
                    for reverse in [false, true] {
                        let mut got = (proj.clone(), vec![0.0; hd], vec![0.0; hd]);
                        (kern.gru_row_step)(hd, active, reverse, rows, &b_hn, &mut got.0, &h_prev, &mut got.1, &mut got.2);
                        let what = format!("{} H={hd} b_hn={} active={active} reverse={reverse}", kern.sgemm_name, !b_hn.is_empty());
                        assert_eq!(got, want, "{what}: (gates, h, W_hn·h + b_hn)");
                    }
                }
            }
        }
    }
}

/// The denormal guard sets FTZ/DAZ on x86_64 for its lifetime (a subnormal product flushes to 0) and
/// restores the caller's mode when dropped, nested or not.
#[test]
fn flush_denormals_is_scoped() {
    let tiny = black_box(f32::MIN_POSITIVE);
    assert!(!FlushDenormals::active(), "tests start in the default mode");
    assert!(black_box(tiny * 0.5) > 0.0, "subnormal results exist by default");
    {
        let _g = FlushDenormals::new();
        if cfg!(target_arch = "x86_64") {
            assert!(FlushDenormals::active());
            assert_eq!(black_box(tiny * 0.5), 0.0, "FTZ flushes the subnormal result");
            {
                let _inner = FlushDenormals::new();
            }
            assert!(FlushDenormals::active(), "an inner guard restores the outer mode, not the default");
        }
    }
    assert!(!FlushDenormals::active(), "mode restored on drop");
    assert!(black_box(tiny * 0.5) > 0.0);
}
