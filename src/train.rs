//! The training loop: rounds over the training split, the order of each round, evaluation.
//! It drives any [`Engine`] the same way, so every backend prints the same trajectory.

// `web_time` is `std::time` natively and the page's clock in a browser tab.
use web_time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::Split;
use crate::engine::{Engine, Validation};
use crate::model::Network;
use crate::{Error, Result};

/// What a run does round by round.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Rounds to run, counting from 1.
    pub rounds: usize,
    /// The first round to run (1, or later when resuming).
    pub first_round: usize,
    /// Evaluate the test split every K rounds (0: only after the last round).
    pub eval_every: usize,
    /// Visit the images of each round in a seeded random order.
    pub shuffle: bool,
    pub seed: u64,
    /// Stop after the first round whose accuracy (validation when there is a validation set,
    /// else test) reaches this percentage; every round is evaluated.
    pub target_accuracy: Option<f64>,
}

impl Schedule {
    fn evaluates(&self, round: usize) -> bool {
        round == self.rounds
            || self.target_accuracy.is_some()
            || (self.eval_every > 0 && round.is_multiple_of(self.eval_every))
    }
}

/// One round's figures, as printed and as written to `--metrics`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RoundRecord {
    pub round: usize,
    /// Mean of the round's batch costs.
    pub cost: f64,
    /// Wall time of the round's training (evaluation excluded).
    pub seconds: f64,
    /// Test accuracy in percent, on rounds that evaluate.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub test_accuracy: Option<f64>,
    /// Validation accuracy in percent, on rounds that evaluate when there is a validation set.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub validation_accuracy: Option<f64>,
    /// Wall time of the round's evaluation.
    #[serde(default)]
    pub eval_seconds: f64,
}

impl RoundRecord {
    /// The accuracy a target applies to: validation when measured, else test.
    pub fn target_metric(&self) -> Option<f64> {
        self.validation_accuracy.or(self.test_accuracy)
    }
}

/// The order in which round `round` visits `images` images: a permutation that depends only on
/// the seed and the round, so a resumed run visits the same images as an uninterrupted one.
pub fn round_order(seed: u64, round: usize, images: usize) -> Vec<u32> {
    let mut order = Vec::with_capacity(images);
    fill_round_order(seed, round, images, &mut order);
    order
}

/// [`round_order`] into a vector the caller keeps, so rounds allocate nothing.
pub fn fill_round_order(seed: u64, round: usize, images: usize, order: &mut Vec<u32>) {
    order.clear();
    order.extend(0..images as u32);
    let stream = seed ^ (round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(stream));
}

/// Test accuracy in percent.
pub fn accuracy(engine: &mut dyn Engine, split: Split, images: usize) -> Result<f64> {
    let correct = engine.correct(split)?;
    Ok(100.0 * correct as f64 / images.max(1) as f64)
}

/// Runs the schedule; `on_round` sees each round's record as soon as it is known.
pub fn train(
    engine: &mut dyn Engine,
    schedule: &Schedule,
    train_images: usize,
    test_images: usize,
    on_round: &mut dyn FnMut(&RoundRecord) -> Result<()>,
) -> Result<Vec<RoundRecord>> {
    train_with(
        engine,
        schedule,
        train_images,
        test_images,
        None,
        &mut |_, record| on_round(record),
    )
}

/// Like [`train`], with the engine lent to `on_round` too (to save checkpoints of the network)
/// and a held-out validation set measured on every evaluating round when given.
pub fn train_with(
    engine: &mut dyn Engine,
    schedule: &Schedule,
    train_images: usize,
    test_images: usize,
    mut validation: Option<&mut dyn Validation>,
    on_round: &mut dyn FnMut(&mut dyn Engine, &RoundRecord) -> Result<()>,
) -> Result<Vec<RoundRecord>> {
    let mut rounds = Rounds::new(schedule.clone(), train_images);
    while let Some((round, order)) = rounds.next_round() {
        let start = Instant::now();
        let cost = engine.train_round(order)?;
        let seconds = start.elapsed().as_secs_f64();
        // A diverged round ends the run before anything (metrics, a checkpoint) records it.
        if !cost.is_finite() {
            return Err(Error::Diverged {
                round,
                what: format!("the cost is {cost}"),
            });
        }
        if let Some(what) = non_finite_parameter(&engine.network()?) {
            return Err(Error::Diverged { round, what });
        }
        let eval_start = Instant::now();
        let (mut test_accuracy, mut validation_accuracy) = (None, None);
        if rounds.evaluates(round) {
            test_accuracy = Some(accuracy(engine, Split::Test, test_images)?);
            if let Some(set) = validation.as_deref_mut() {
                let net = engine.network()?;
                validation_accuracy =
                    Some(100.0 * set.correct(&net) as f64 / set.len().max(1) as f64);
            }
        }
        let record = RoundRecord {
            round,
            cost,
            seconds,
            test_accuracy,
            validation_accuracy,
            eval_seconds: eval_start.elapsed().as_secs_f64(),
        };
        on_round(engine, &record)?;
        rounds.finish(record);
    }
    Ok(rounds.into_records())
}

/// The first weight or bias of `net` that is not a finite number, described (`None`: all are).
/// Costs are clamped inside the engines (a log of at least the smallest float), so a network
/// gone to NaN can still report a finite cost: the parameters are what tells.
pub fn non_finite_parameter(net: &Network) -> Option<String> {
    for (l, layer) in net.layers.iter().enumerate() {
        for (kind, values) in [("weight", &layer.weights), ("bias", &layer.biases)] {
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Some(format!("a {kind} of layer {} became {v}", l + 1));
            }
        }
    }
    None
}

/// Where a run is in its [`Schedule`]: which round comes next and in what order, whether it
/// evaluates, whether the target stops the run. The blocking loop above and a browser tab's
/// awaited rounds step through the same plan, so both visit the same images.
pub struct Rounds {
    schedule: Schedule,
    train_images: usize,
    next: usize,
    order: Vec<u32>,
    records: Vec<RoundRecord>,
    stopped: bool,
}

impl Rounds {
    pub fn new(schedule: Schedule, train_images: usize) -> Self {
        let capacity = if schedule.shuffle { train_images } else { 0 };
        Rounds {
            next: schedule.first_round,
            schedule,
            train_images,
            order: Vec::with_capacity(capacity),
            records: Vec::new(),
            stopped: false,
        }
    }

    /// The next round's number and the order it visits the images in (`None`: storage
    /// order), or `None` when the run is over.
    pub fn next_round(&mut self) -> Option<(usize, Option<&[u32]>)> {
        if self.is_over() {
            return None;
        }
        let round = self.next;
        if self.schedule.shuffle {
            fill_round_order(
                self.schedule.seed,
                round,
                self.train_images,
                &mut self.order,
            );
        }
        Some((
            round,
            self.schedule.shuffle.then_some(self.order.as_slice()),
        ))
    }

    /// Whether every planned round has run, or the target stopped the run.
    pub fn is_over(&self) -> bool {
        self.stopped || self.next > self.schedule.rounds
    }

    /// Whether `round` measures accuracy.
    pub fn evaluates(&self, round: usize) -> bool {
        self.schedule.evaluates(round)
    }

    /// Records a finished round; a round that reaches the target accuracy ends the run.
    pub fn finish(&mut self, record: RoundRecord) {
        let reached = match (self.schedule.target_accuracy, record.target_metric()) {
            (Some(target), Some(acc)) => acc >= target,
            _ => false,
        };
        self.next = record.round + 1;
        self.stopped |= reached;
        self.records.push(record);
    }

    pub fn records(&self) -> &[RoundRecord] {
        &self.records
    }

    pub fn into_records(self) -> Vec<RoundRecord> {
        self.records
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_orders_are_permutations_that_differ_by_round() {
        let a = round_order(1, 1, 100);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<u32>>());
        assert_eq!(a, round_order(1, 1, 100));
        assert_ne!(a, round_order(1, 2, 100));
        assert_ne!(a, round_order(2, 1, 100));
    }
}
