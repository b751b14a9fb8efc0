//! MNIST-format data: IDX files (gzipped or raw), where to find them, and how to download them.
//!
//! Any folder holding the four standard files works (MNIST, Fashion-MNIST...):
//! `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
//! `t10k-labels-idx1-ubyte`, each optionally with a `.gz` suffix.

pub mod checksums;
#[cfg(feature = "native")]
pub mod download;
pub mod idx;
#[cfg(feature = "native")]
pub mod locate;

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
    /// SHA-256 of each file's decompressed content, in [`FILE_STEMS`] order.
    pub sha256: [String; 4],
}

impl Mnist {
    /// A data set built in memory (tests, fixtures); its checksums are those of the IDX files
    /// that would hold it.
    pub fn new(train: Dataset, test: Dataset, dir: PathBuf) -> Mnist {
        let [train_images, train_labels] = train.idx_sha256();
        let [test_images, test_labels] = test.idx_sha256();
        Mnist {
            train,
            test,
            dir,
            sha256: [train_images, train_labels, test_images, test_labels],
        }
    }

    pub fn split(&self, split: Split) -> &Dataset {
        match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        }
    }

    /// Whether the content is exactly MNIST's (not Fashion-MNIST or another IDX data set).
    pub fn is_mnist(&self) -> bool {
        checksums::is_mnist(&self.sha256)
    }

    /// Writes the four IDX files into `dir` (created if needed), gzipped as `stem.gz` or raw as
    /// `stem`, each atomically: for fixtures and for converting a data set.
    pub fn save(&self, dir: &Path, gzip: bool) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
        // Images then labels of each split, in the order of FILE_STEMS.
        let contents = [&self.train, &self.test].into_iter().flat_map(|split| {
            [
                idx::encode_images(split.len(), split.rows, split.cols, &split.images),
                idx::encode_labels(&split.labels),
            ]
        });
        for (stem, content) in FILE_STEMS.into_iter().zip(contents) {
            if gzip {
                let path = dir.join(format!("{stem}.gz"));
                crate::atomic_file::write_atomic_with(&path, |file| {
                    let mut encoder =
                        flate2::write::GzEncoder::new(file, flate2::Compression::default());
                    std::io::Write::write_all(&mut encoder, &content)?;
                    encoder.finish().map(|_| ())
                })?;
            } else {
                crate::atomic_file::write_atomic(&dir.join(stem), &content)?;
            }
        }
        Ok(())
    }

    /// Reads and validates the four files in `dir`.
    pub fn load(dir: &Path) -> Result<Mnist> {
        if !dir.is_dir() {
            let why = if dir.exists() {
                "a file, not a folder of IDX files"
            } else {
                "no such folder"
            };
            return Err(crate::Error::DataMissing(format!(
                "{}: {why}",
                dir.display()
            )));
        }
        let (train, [train_images, train_labels]) = load_split_hashed(dir, Split::Train)?;
        let (test, [test_images, test_labels]) = load_split_hashed(dir, Split::Test)?;
        Ok(Mnist {
            train,
            test,
            dir: dir.to_path_buf(),
            sha256: [train_images, train_labels, test_images, test_labels],
        })
    }
}

impl Mnist {
    /// `train` and `test` images of random pixels with random labels, for timing (speed does not
    /// depend on the pixels).
    pub fn random(train: usize, test: usize, seed: u64) -> Mnist {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut split = |n: usize| Dataset {
            images: (0..n * 784).map(|_| rng.random()).collect(),
            labels: (0..n).map(|_| rng.random_range(0..10)).collect(),
            rows: 28,
            cols: 28,
        };
        let train = split(train);
        let test = split(test);
        Mnist::new(train, test, "random pixels".into())
    }
}

impl Dataset {
    /// SHA-256 of the IDX image and label files holding this split.
    pub fn idx_sha256(&self) -> [String; 2] {
        let images = idx::encode_images(self.len(), self.rows, self.cols, &self.images);
        let labels = idx::encode_labels(&self.labels);
        [
            checksums::sha256_hex(&images),
            checksums::sha256_hex(&labels),
        ]
    }
}

/// A split from the bytes of its image and label files as stored (gzipped or raw), e.g. fetched
/// by a web page; `image_name` and `label_name` name them in errors.
pub fn split_from_files(
    image_name: &Path,
    image_file: &[u8],
    label_name: &Path,
    label_file: &[u8],
) -> Result<Dataset> {
    let image_bytes = idx::read_content(image_name, image_file)?;
    let label_bytes = idx::read_content(label_name, label_file)?;
    dataset_from_content(image_name, &image_bytes, label_name, &label_bytes)
}

/// Parses a split's image and label content and checks that they agree.
fn dataset_from_content(
    image_path: &Path,
    image_bytes: &[u8],
    label_path: &Path,
    label_bytes: &[u8],
) -> Result<Dataset> {
    let images = idx::parse_images(image_path, image_bytes)?;
    let labels = idx::parse_labels(label_path, label_bytes)?;
    if images.count != labels.len() {
        return Err(crate::Error::bad_file(
            label_path,
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

/// Reads one split's images and labels and checks that they agree.
pub fn load_split(dir: &Path, split: Split) -> Result<Dataset> {
    Ok(load_split_hashed(dir, split)?.0)
}

/// [`load_split`] plus the content checksums of its image and label files.
fn load_split_hashed(dir: &Path, split: Split) -> Result<(Dataset, [String; 2])> {
    let (image_stem, label_stem) = split.stems();
    let image_path = idx::find_file(dir, image_stem)?;
    let label_path = idx::find_file(dir, label_stem)?;
    let image_bytes = idx::read_bytes(&image_path)?;
    let label_bytes = idx::read_bytes(&label_path)?;
    let dataset = dataset_from_content(&image_path, &image_bytes, &label_path, &label_bytes)?;
    let sha256 = [
        checksums::sha256_hex(&image_bytes),
        checksums::sha256_hex(&label_bytes),
    ];
    Ok((dataset, sha256))
}
