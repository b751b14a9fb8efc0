//! How well a network classifies a split: accuracy, per-class precision and recall, and the
//! confusion matrix, computed from labels and predicted classes (so every engine that returns
//! the same predictions prints the same figures).

use std::fmt::Write;

use crate::{Error, Result};

/// `counts[actual][predicted]`: how many images of class `actual` were classified `predicted`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confusion {
    counts: Vec<Vec<usize>>,
}

impl Confusion {
    /// Tallies `predictions` against `labels` over `classes` classes.
    pub fn new(labels: &[u8], predictions: &[u8], classes: usize) -> Result<Self> {
        if labels.len() != predictions.len() {
            return Err(Error::Config(format!(
                "{} predictions for {} labels",
                predictions.len(),
                labels.len()
            )));
        }
        let mut counts = vec![vec![0; classes]; classes];
        for (&actual, &predicted) in labels.iter().zip(predictions) {
            let (a, p) = (usize::from(actual), usize::from(predicted));
            if a >= classes || p >= classes {
                return Err(Error::Config(format!(
                    "class {} is out of range: there are {classes} classes",
                    a.max(p)
                )));
            }
            counts[a][p] += 1;
        }
        Ok(Confusion { counts })
    }

    pub fn classes(&self) -> usize {
        self.counts.len()
    }

    /// Images of class `actual` classified as `predicted`.
    pub fn count(&self, actual: usize, predicted: usize) -> usize {
        self.counts[actual][predicted]
    }

    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    pub fn correct(&self) -> usize {
        (0..self.classes()).map(|c| self.counts[c][c]).sum()
    }

    /// Percent of images classified correctly (0 for no images).
    pub fn accuracy(&self) -> f64 {
        100.0 * self.correct() as f64 / self.total().max(1) as f64
    }

    /// Images whose label is `class`.
    pub fn support(&self, class: usize) -> usize {
        self.counts[class].iter().sum()
    }

    /// Images classified as `class`.
    pub fn predicted(&self, class: usize) -> usize {
        self.counts.iter().map(|row| row[class]).sum()
    }

    /// Of the images classified as `class`, the fraction that are `class`; `None` when the
    /// network never predicts `class` (the ratio is undefined, not zero).
    pub fn precision(&self, class: usize) -> Option<f64> {
        ratio(self.counts[class][class], self.predicted(class))
    }

    /// Of the images of `class`, the fraction classified as `class`; `None` without any.
    pub fn recall(&self, class: usize) -> Option<f64> {
        ratio(self.counts[class][class], self.support(class))
    }

    /// The per-class table: images, precision, recall (percent; `-` where undefined).
    pub fn class_table(&self) -> String {
        let mut out = String::from("digit  images  precision  recall\n");
        for c in 0..self.classes() {
            let _ = writeln!(
                out,
                "{c:>5}  {:>6}  {:>9}  {:>6}",
                self.support(c),
                percent(self.precision(c)),
                percent(self.recall(c))
            );
        }
        out
    }

    /// The confusion matrix as text: one row per real label, one column per prediction.
    pub fn matrix_table(&self) -> String {
        let width = self.total().to_string().len().max(4);
        let mut out = format!("{:>10} |", "real\\pred");
        for p in 0..self.classes() {
            let _ = write!(out, " {p:>width$}");
        }
        out.push('\n');
        out.push_str(&"-".repeat(11 + (width + 1) * self.classes() + 1));
        out.push('\n');
        for (a, row) in self.counts.iter().enumerate() {
            let _ = write!(out, "{a:>10} |");
            for n in row {
                let _ = write!(out, " {n:>width$}");
            }
            out.push('\n');
        }
        out
    }
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{:.2}%", 100.0 * v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_precision_recall_by_hand() {
        // labels:      0 0 0 1 1 2
        // predictions: 0 0 1 1 1 1   (class 2 never predicted)
        let c = Confusion::new(&[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 1, 1], 3).expect("ok");
        assert_eq!(c.count(0, 0), 2);
        assert_eq!(c.count(0, 1), 1);
        assert_eq!(c.count(2, 1), 1);
        assert_eq!((c.total(), c.correct()), (6, 4));
        assert!((c.accuracy() - 400.0 / 6.0).abs() < 1e-12);
        assert_eq!(c.precision(0), Some(1.0));
        assert_eq!(c.recall(0), Some(2.0 / 3.0));
        assert_eq!(c.precision(1), Some(0.5));
        assert_eq!(c.recall(1), Some(1.0));
        assert_eq!(c.precision(2), None);
        assert_eq!(c.recall(2), Some(0.0));
    }

    #[test]
    fn rows_and_columns_add_up() {
        let labels: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 10) as u8).collect();
        let predictions: Vec<u8> = (0..1000u32).map(|i| (i * 3 % 10) as u8).collect();
        let c = Confusion::new(&labels, &predictions, 10).expect("ok");
        let supports: usize = (0..10).map(|d| c.support(d)).sum();
        let predicted: usize = (0..10).map(|d| c.predicted(d)).sum();
        assert_eq!((supports, predicted, c.total()), (1000, 1000, 1000));
        let matches = labels
            .iter()
            .zip(&predictions)
            .filter(|(a, b)| a == b)
            .count();
        assert_eq!(c.correct(), matches);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(Confusion::new(&[0, 1], &[0], 10).is_err());
        assert!(Confusion::new(&[0, 10], &[0, 1], 10).is_err());
        assert!(Confusion::new(&[0, 1], &[0, 12], 10).is_err());
    }

    #[test]
    fn tables_show_every_class() {
        let c = Confusion::new(&[0, 1, 1], &[0, 1, 0], 2).expect("ok");
        let table = c.class_table();
        assert_eq!(table.lines().count(), 3);
        assert!(table.contains("50.00%"), "{table}");
        let matrix = c.matrix_table();
        assert_eq!(matrix.lines().count(), 4);
        let row_one: Vec<&str> = matrix
            .lines()
            .nth(3)
            .expect("row")
            .split_whitespace()
            .collect();
        assert_eq!(row_one, vec!["1", "|", "1", "1"]);
    }
}
