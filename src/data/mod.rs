//! MNIST-format data: IDX files (gzipped or raw), where to find them, and how to download them.
//!
//! Any folder holding the four standard files works (MNIST, Fashion-MNIST...):
//! `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
//! `t10k-labels-idx1-ubyte`, each optionally with a `.gz` suffix.

pub mod idx;

use std::path::{Path, PathBuf};

use crate::Result;

/// Which part of the data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }

    /// The file stems of this split's images and labels.
    pub fn stems(self) -> (&'static str, &'static str) {
        match self {
            Split::Train => ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
            Split::Test => ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
        }
    }
}

/// The four file stems, in download order.
pub const FILE_STEMS: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Images and their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// `len() · rows · cols` grey bytes, image after image, row-major.
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
    pub rows: usize,
    pub cols: usize,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image.
    pub fn pixels(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of image `index`.
    pub fn image(&self, index: usize) -> &[u8] {
        let n = self.pixels();
        &self.images[index * n..(index + 1) * n]
    }

    /// The first `count` images (or all if fewer), for small runs and tests.
    pub fn truncated(&self, count: usize) -> Dataset {
        let count = count.min(self.len());
        Dataset {
            images: self.images[..count * self.pixels()].to_vec(),
            labels: self.labels[..count].to_vec(),
            rows: self.rows,
            cols: self.cols,
        }
    }
}

/// Both splits of a data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Mnist {
    pub train: Dataset,
    pub test: Dataset,
    /// The folder it was read from.
    pub dir: PathBuf,
}

impl Mnist {
    pub fn split(&self, split: Split) -> &Dataset {
        match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        }
    }

    /// Reads and validates the four files in `dir`.
    pub fn load(dir: &Path) -> Result<Mnist> {
        Ok(Mnist {
            train: load_split(dir, Split::Train)?,
            test: load_split(dir, Split::Test)?,
            dir: dir.to_path_buf(),
        })
    }
}

/// Reads one split's images and labels and checks that they agree.
pub fn load_split(dir: &Path, split: Split) -> Result<Dataset> {
    let (image_stem, label_stem) = split.stems();
    let image_path = idx::find_file(dir, image_stem)?;
    let label_path = idx::find_file(dir, label_stem)?;
    let images = idx::read_images(&image_path)?;
    let labels = idx::read_labels(&label_path)?;
    if images.count != labels.len() {
        return Err(crate::Error::bad_file(
            &label_path,
            format!(
                "{} labels but {} has {} images",
                labels.len(),
                image_path.display(),
                images.count
            ),
        ));
    }
    Ok(Dataset {
        images: images.pixels,
        labels,
        rows: images.rows,
        cols: images.cols,
    })
}
