//! Generated text for every numeric flag of train, eval, predict, show and serve, parsed in
//! process as the command line would be: no input panics; each is either accepted with a value
//! in the flag's documented range or refused as a bad value (never mistaken for another flag)
//! in one line naming the flag. `cargo test --release --bin mnist-gpu flags_fuzz` runs 5,000
//! inputs; the `--ignored` test runs 100,000.

use clap::Parser;
use clap::error::ErrorKind;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Cli, Command};

/// A flag, the arguments its command needs besides it, and whether a parsed value is in range.
struct Flag {
    command: &'static [&'static str],
    name: &'static str,
    in_range: fn(&Command) -> bool,
}

fn unit(x: Option<f32>) -> bool {
    x.is_none_or(|x| (0.0..1.0).contains(&x))
}
fn positive(x: Option<f32>) -> bool {
    x.is_none_or(|x| x.is_finite() && x > 0.0)
}
fn non_negative(x: Option<f32>) -> bool {
    x.is_none_or(|x| x.is_finite() && x >= 0.0 && x.is_sign_positive())
}

macro_rules! train_flag {
    ($name:literal, |$a:ident| $check:expr) => {
        Flag {
            command: &["train", "--save", "m"],
            name: $name,
            in_range: |c| matches!(c, Command::Train($a) if $check),
        }
    };
}

const FLAGS: &[Flag] = &[
    train_flag!("--rounds", |a| a.rounds.is_none_or(|n| n >= 1)),
    train_flag!("--stop-after", |a| a.stop_after.is_none_or(|n| n >= 1)),
    train_flag!("--batch-size", |a| a.batch_size.is_none_or(|n| n >= 1)),
    train_flag!("--lr", |a| positive(a.lr)),
    train_flag!("--seed", |a| a.seed.is_some()),
    train_flag!("--momentum", |a| unit(a.momentum)),
    train_flag!("--beta1", |a| unit(a.beta1)),
    train_flag!("--beta2", |a| unit(a.beta2)),
    train_flag!("--eps", |a| positive(a.eps)),
    train_flag!("--weight-decay", |a| non_negative(a.weight_decay)),
    train_flag!("--lr-step-rounds", |a| a
        .lr_step_rounds
        .is_none_or(|n| n >= 1)),
    train_flag!("--lr-gamma", |a| positive(a.lr_gamma)),
    train_flag!("--warmup", |a| a
        .warmup
        .is_none_or(|w| w.is_finite() && w >= 0.0)),
    train_flag!("--dropout", |a| unit(a.dropout)),
    train_flag!("--max-norm", |a| non_negative(a.max_norm)),
    train_flag!("--input-dropout", |a| unit(a.input_dropout)),
    train_flag!("--augment-shift", |a| non_negative(a.augment_shift)),
    train_flag!("--augment-rotate", |a| non_negative(a.augment_rotate)),
    train_flag!("--augment-scale", |a| non_negative(a.augment_scale)),
    train_flag!("--augment-elastic", |a| non_negative(a.augment_elastic)),
    train_flag!("--target-accuracy", |a| a
        .target_accuracy
        .is_none_or(|p| p > 0.0 && p <= 100.0)),
    train_flag!("--validation", |a| a.validation.is_some()),
    train_flag!("--eval-every", |_a| true),
    train_flag!("--checkpoint-every", |_a| true),
    Flag {
        command: &["eval", "--model", "m", "--misclassified", "x.png"],
        name: "--count",
        in_range: |c| matches!(c, Command::Eval(a) if a.count >= 1),
    },
    Flag {
        command: &["predict", "--model", "m", "p.png"],
        name: "--top",
        in_range: |c| matches!(c, Command::Predict(a) if a.top >= 1),
    },
    Flag {
        command: &["show", "--out", "d.png"],
        name: "--count",
        in_range: |c| matches!(c, Command::Show(a) if a.count.is_some()),
    },
    Flag {
        command: &["show", "--out", "d.png"],
        name: "--start",
        in_range: |c| matches!(c, Command::Show(_)),
    },
    Flag {
        command: &["serve"],
        name: "--port",
        in_range: |c| matches!(c, Command::Serve(_)),
    },
];

/// Text someone (or something) might pass as a number.
fn generate(rng: &mut ChaCha8Rng) -> String {
    const WORDS: &[&str] = &[
        "nan",
        "NaN",
        "-nan",
        "inf",
        "-inf",
        "+inf",
        "infinity",
        "-Infinity",
        "-0",
        "+0",
        "0",
        "-0.0",
        "0x10",
        "0b1",
        "1e309",
        "-1e309",
        "1e-400",
        "4.9e-324",
        "1.4e-45",
        "3.4e38",
        "3.5e38",
        "",
        " ",
        "  1  ",
        "\t2\n",
        "١٢",
        "５",
        "1_000",
        "1,5",
        "--cpu",
        "-",
        "--",
        "-e5",
        ".",
        "e",
        "1e",
        "+",
        "1.",
        ".5",
        "-.5",
        "1e+2",
        "1E2",
        "0.0.1",
        "100",
        "101",
        "65536",
        "-1",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999",
        "1/2",
        "½",
        "∞",
        "−1",
        "NaN%",
        "50%",
        "0.999999999",
        "1e-45",
    ];
    match rng.random_range(0..10) {
        0 | 1 => WORDS[rng.random_range(0..WORDS.len())].to_string(),
        2 => f64::from_bits(rng.random()).to_string(),
        3 => format!("{:e}", f32::from_bits(rng.random())),
        4 => {
            let x: f64 = rng.random_range(-200.0..200.0);
            match rng.random_range(0..3) {
                0 => format!("{x}"),
                1 => format!("{x:.3}"),
                _ => format!("{:e}", x * 10f64.powi(rng.random_range(-50..50))),
            }
        }
        5 => rng.random::<i64>().to_string(),
        6 => rng.random_range(0u32..2000).to_string(),
        7 => {
            let digits = rng.random_range(1..5000);
            let mut s: String = (0..digits)
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect();
            if rng.random_bool(0.5) {
                s.insert(rng.random_range(0..=s.len()), '.');
            }
            s
        }
        8 => (0..rng.random_range(0..12))
            .map(|_| char::from_u32(rng.random_range(0..0x3000)).unwrap_or('?'))
            .collect(),
        _ => {
            // Two pieces glued, or one with a character put in.
            let a = generate(rng);
            let b = WORDS[rng.random_range(0..WORDS.len())];
            if rng.random_bool(0.5) {
                format!("{a}{b}")
            } else {
                format!("{b}{a}")
            }
        }
    }
}

/// Parses `count` generated values, each for the next flag in turn; returns how many were
/// accepted and refused.
fn run(count: usize, seed: u64) -> (usize, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..count {
        let flag = &FLAGS[i % FLAGS.len()];
        let value = generate(&mut rng);
        let mut args = vec!["mnist-gpu"];
        args.extend_from_slice(flag.command);
        args.extend([flag.name, value.as_str()]);
        match Cli::try_parse_from(&args) {
            Ok(cli) => {
                assert!(
                    (flag.in_range)(&cli.command),
                    "{} {value:?} accepted out of range",
                    flag.name
                );
                accepted += 1;
            }
            Err(err) => {
                assert!(
                    matches!(
                        err.kind(),
                        ErrorKind::ValueValidation | ErrorKind::InvalidValue
                    ),
                    "{} {value:?}: {:?} {err}",
                    flag.name,
                    err.kind()
                );
                let line = crate::one_line(&err.render().to_string());
                assert!(
                    line.starts_with("error: ") && !line.contains('\n'),
                    "{line}"
                );
                assert!(line.contains(flag.name), "{line}");
                refused += 1;
            }
        }
    }
    (accepted, refused)
}

#[test]
fn flags_fuzz_generated_values() {
    let (accepted, refused) = run(5_000, 1);
    assert_eq!(accepted + refused, 5_000);
    assert!(
        accepted > 100 && refused > 100,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
#[ignore = "100,000 inputs: run with --ignored"]
fn flags_fuzz_generated_values_many() {
    let start = std::time::Instant::now();
    let (accepted, refused) = run(100_000, 2);
    eprintln!(
        "flags_fuzz: {} inputs over {} flags: {accepted} accepted, {refused} refused in {:.1} s",
        accepted + refused,
        FLAGS.len(),
        start.elapsed().as_secs_f64()
    );
}
