//! The fast CPU engine against the plain f64 reference, the reference against finite
//! differences, and seeded determinism.

use mnist_gpu::data::Split;
use mnist_gpu::engine::cpu::CpuEngine;
use mnist_gpu::engine::{Engine, Hyper};
use mnist_gpu::model::Network;
use mnist_gpu::reference::{RefNetwork, input_of};
use mnist_gpu::train::round_order;

mod common;
use common::{inputs, synthetic};

/// Largest |a − b| / (|b| + floor) over two parameter sets; NaN anywhere gives infinity.
fn max_rel_diff(net: &Network, reference: &RefNetwork, floor: f64) -> f64 {
    let mut worst = 0.0f64;
    for (l, layer) in net.layers.iter().enumerate() {
        for o in 0..layer.outputs {
            let got = f64::from(layer.biases[o]);
            let want = reference.biases[l][o];
            worst = worst.max(rel(got, want, floor));
            for i in 0..layer.inputs {
                let got = f64::from(layer.weights[o * layer.inputs + i]);
                worst = worst.max(rel(got, reference.weights[l][o][i], floor));
            }
        }
    }
    worst
}

fn rel(got: f64, want: f64, floor: f64) -> f64 {
    let d = (got - want).abs() / (want.abs() + floor);
    if d.is_nan() { f64::INFINITY } else { d }
}

// f32 products over ≤ 60 inputs lose at most ~60·2⁻²⁴ relative before the sigmoid; 1e-5 leaves
// room for that plus exp's rounding, and is far below any real bug (a wrong index or scale
// changes outputs by > 1e-2).
const FORWARD_TOL: f64 = 1e-5;

#[test]
fn forward_matches_reference_on_random_networks() {
    for (seed, sizes) in [
        (1, vec![12, 7, 10]),
        (2, vec![12, 9, 5, 10]),
        (3, vec![12, 10]),
    ] {
        let data = synthetic(20, 15, 3, 4, seed);
        let net = Network::with_sizes(&sizes, seed).expect("net");
        let reference = RefNetwork::from_network(&net);
        let hyper = Hyper {
            batch_size: 8,
            learning_rate: 1.0,
        };
        let mut engine = CpuEngine::new(net, &data, hyper).expect("engine");
        let predicted = engine.predictions(Split::Test).expect("predictions");
        for (i, &predicted_class) in predicted.iter().enumerate() {
            let want = reference.forward(&input_of(data.test.image(i)));
            let got = engine.outputs(Split::Test, i).expect("outputs");
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    rel(f64::from(*g), *w, 1e-3) < FORWARD_TOL,
                    "{got:?} vs {want:?}"
                );
            }
            let best = (0..10).fold(0, |b, j| if want[j] > want[b] { j } else { b });
            assert_eq!(predicted_class as usize, best, "image {i}");
        }
        let correct = engine.correct(Split::Test).expect("correct");
        let expected = (0..data.test.len())
            .filter(|&i| predicted[i] == data.test.labels[i])
            .count();
        assert_eq!(correct, expected);
    }
}

/// A round of the fast engine equals the reference's steps over the same batches.
fn round_matches_reference(sizes: &[usize], batch_size: usize, shuffled: bool) {
    let data = synthetic(23, 5, 5, 6, 11);
    let net = Network::with_sizes(sizes, 5).expect("net");
    let mut reference = RefNetwork::from_network(&net);
    let lr = 0.7;
    let hyper = Hyper {
        batch_size,
        learning_rate: lr,
    };
    let mut engine = CpuEngine::new(net, &data, hyper).expect("engine");
    for round in 1..=2 {
        let order = shuffled.then(|| round_order(9, round, data.train.len()));
        let cost = engine.train_round(order.as_deref()).expect("round");
        let visit: Vec<usize> = match &order {
            Some(o) => o.iter().map(|&i| i as usize).collect(),
            None => (0..data.train.len()).collect(),
        };
        let mut costs = Vec::new();
        for batch in visit.chunks(batch_size) {
            let (x, y) = inputs(&data.train, batch.iter().copied());
            costs.push(reference.step(&x, &y, f64::from(lr)));
        }
        let want = costs.iter().sum::<f64>() / costs.len() as f64;
        // The cost is a mean of f32 squares summed in f64: 1e-5 relative covers f32 activations.
        assert!(
            rel(cost, want, 0.0) < 1e-5,
            "round {round}: {cost} vs {want}"
        );
        // Parameters after the steps: each update is lr·(f32 gradient), so the error is the
        // f32 rounding of the products (≤ 1e-6 relative) accumulated over 2 rounds of ≤ 5 steps.
        let diff = max_rel_diff(&engine.network().expect("net"), &reference, 1e-2);
        assert!(diff < 1e-4, "round {round}: parameters differ by {diff}");
    }
}

#[test]
fn one_full_batch_step_matches_reference() {
    round_matches_reference(&[30, 8, 10], 23, false);
}

#[test]
fn minibatch_rounds_with_a_partial_last_batch_match_reference() {
    round_matches_reference(&[30, 8, 10], 5, false);
    round_matches_reference(&[30, 6, 7, 10], 4, false);
}

#[test]
fn shuffled_rounds_match_reference() {
    round_matches_reference(&[30, 8, 10], 6, true);
}

#[test]
fn reference_gradients_match_finite_differences() {
    let data = synthetic(6, 1, 2, 3, 21);
    let net = Network::with_sizes(&[6, 5, 4, 10], 3).expect("net");
    let reference = RefNetwork::from_network(&net);
    let (x, y) = inputs(&data.train, 0..6);
    let analytic = reference.gradients(&x, &y);
    let h = 1e-6;
    let mut checked = 0;
    for l in 0..reference.weights.len() {
        for o in 0..reference.weights[l].len() {
            for i in 0..reference.weights[l][o].len() {
                let mut plus = reference.clone();
                plus.weights[l][o][i] += h;
                let mut minus = reference.clone();
                minus.weights[l][o][i] -= h;
                let numeric = (plus.cost(&x, &y) - minus.cost(&x, &y)) / (2.0 * h);
                // Central differences in f64 are accurate to ~h² + ε/h ≈ 1e-10 here.
                assert!(
                    (numeric - analytic.weights[l][o][i]).abs() < 1e-7,
                    "dW[{l}][{o}][{i}]: {numeric} vs {}",
                    analytic.weights[l][o][i]
                );
                checked += 1;
            }
            let mut plus = reference.clone();
            plus.biases[l][o] += h;
            let mut minus = reference.clone();
            minus.biases[l][o] -= h;
            let numeric = (plus.cost(&x, &y) - minus.cost(&x, &y)) / (2.0 * h);
            assert!(
                (numeric - analytic.biases[l][o]).abs() < 1e-7,
                "db[{l}][{o}]"
            );
        }
    }
    assert_eq!(checked, 6 * 5 + 5 * 4 + 4 * 10);
    assert!((analytic.cost - reference.cost(&x, &y)).abs() < 1e-12);
}

#[test]
fn fast_engine_gradient_equals_reference_gradient() {
    // One full-batch step with lr = 1 moves every parameter by exactly its gradient.
    let data = synthetic(9, 1, 4, 4, 31);
    let net = Network::with_sizes(&[16, 6, 10], 8).expect("net");
    let reference = RefNetwork::from_network(&net);
    let hyper = Hyper {
        batch_size: 9,
        learning_rate: 1.0,
    };
    let mut engine = CpuEngine::new(net.clone(), &data, hyper).expect("engine");
    engine.train_round(None).expect("round");
    let after = engine.network().expect("net");
    let (x, y) = inputs(&data.train, 0..9);
    let g = reference.gradients(&x, &y);
    for l in 0..net.layers.len() {
        let inputs = net.layers[l].inputs;
        for (k, (before, now)) in net.layers[l]
            .weights
            .iter()
            .zip(&after.layers[l].weights)
            .enumerate()
        {
            let step = f64::from(before - now);
            let want = g.weights[l][k / inputs][k % inputs];
            // The step is the difference of two f32 weights of size ≤ 0.5: 2⁻²⁴·0.5 ≈ 3e-8
            // absolute rounding on top of the f32 gradient's own ~1e-6 relative error.
            assert!(
                (step - want).abs() < 1e-7 + 1e-5 * want.abs(),
                "{step} vs {want}"
            );
        }
    }
}

#[test]
fn same_seed_same_run_other_seed_other_run() {
    let data = synthetic(40, 10, 4, 5, 41);
    let run = |seed: u64| {
        let net = Network::with_sizes(&[20, 9, 10], seed).expect("net");
        let hyper = Hyper {
            batch_size: 7,
            learning_rate: 2.0,
        };
        let mut engine = CpuEngine::new(net, &data, hyper).expect("engine");
        let costs: Vec<f64> = (1..=3)
            .map(|r| {
                let order = round_order(seed, r, data.train.len());
                engine.train_round(Some(&order)).expect("round")
            })
            .collect();
        (costs, engine.network().expect("net"))
    };
    let (costs_a, net_a) = run(5);
    let (costs_b, net_b) = run(5);
    let (costs_c, _) = run(6);
    assert_eq!(costs_a, costs_b, "same seed must give bit-identical costs");
    assert_eq!(net_a, net_b, "same seed must give bit-identical weights");
    assert_ne!(costs_a, costs_c);
}

#[test]
fn bad_settings_are_errors() {
    let data = synthetic(4, 1, 2, 2, 1);
    let net = Network::with_sizes(&[4, 3, 10], 1).expect("net");
    let bad = |batch_size, learning_rate| {
        CpuEngine::new(
            net.clone(),
            &data,
            Hyper {
                batch_size,
                learning_rate,
            },
        )
        .is_err()
    };
    assert!(bad(0, 1.0));
    assert!(bad(2, 0.0));
    assert!(bad(2, f32::NAN));
    let wrong_inputs = Network::with_sizes(&[5, 3, 10], 1).expect("net");
    let hyper = Hyper {
        batch_size: 2,
        learning_rate: 1.0,
    };
    assert!(CpuEngine::new(wrong_inputs, &data, hyper).is_err());
    let mut engine = CpuEngine::new(net, &data, hyper).expect("engine");
    assert!(engine.train_round(Some(&[0, 1, 2])).is_err());
    assert!(engine.train_round(Some(&[0, 1, 2, 9])).is_err());
    assert!(engine.outputs(Split::Test, 1).is_err());
}
