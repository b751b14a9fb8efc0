//! `mnist-gpu train`: its flags, its plan (the flags, a preset and a resumed model turned into
//! the run's recipe, with the checks that refuse a run that would not do what was asked) and its
//! run (the loop driving `train_with`, progress, saving).

mod flags;
mod plan;
mod run;

pub use flags::TrainArgs;
pub use run::run;
