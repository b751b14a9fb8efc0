//! The pictures: each writes a PNG that decodes to the expected size and shows what it should.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use mnist_gpu::report::canvas::{Canvas, Rgb, WHITE, luminance};
use mnist_gpu::report::confusion::{CELL, cell_origin, confusion_png, size as confusion_size};
use mnist_gpu::report::grid::{
    DIGIT_SCALE, DIGIT_SIDE, GridLayout, digit_grid_png, misclassified_caption,
    titled_digit_grid_png,
};
use mnist_gpu::report::plot::{ACCURACY_COLOUR, COST_COLOUR, HEIGHT, WIDTH, curves, curves_png};
use mnist_gpu::report::weights::{diverging, strongest_units};
use mnist_gpu::train::RoundRecord;

/// A decoded RGB picture.
struct Picture {
    width: usize,
    height: usize,
    bytes: Vec<u8>,
}

impl Picture {
    fn read(path: &Path) -> Picture {
        let data = std::fs::read(path).expect("picture written");
        let decoder = png::Decoder::new(Cursor::new(data));
        let mut reader = decoder.read_info().expect("a valid PNG header");
        let mut bytes = vec![0; reader.output_buffer_size().expect("buffer size")];
        let info = reader.next_frame(&mut bytes).expect("valid PNG data");
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        bytes.truncate(info.buffer_size());
        Picture {
            width: info.width as usize,
            height: info.height as usize,
            bytes,
        }
    }

    fn at(&self, x: usize, y: usize) -> Rgb {
        assert!(x < self.width && y < self.height, "({x}, {y}) outside");
        let i = 3 * (y * self.width + x);
        [self.bytes[i], self.bytes[i + 1], self.bytes[i + 2]]
    }

    /// Pixels in the box that differ from `background`.
    fn ink_in(&self, (x, y, w, h): (usize, usize, usize, usize), background: Rgb) -> usize {
        let mut ink = 0;
        for row in y..y + h {
            for col in x..x + w {
                ink += usize::from(self.at(col, row) != background);
            }
        }
        ink
    }

    /// Every (x, y) of the given colour.
    fn find(&self, colour: Rgb) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        for y in 0..self.height {
            for x in 0..self.width {
                if self.at(x, y) == colour {
                    found.push((x, y));
                }
            }
        }
        found
    }
}

/// A digit whose every pixel differs from its neighbours', so a misplaced blit shows.
fn patterned_digit(seed: usize) -> Vec<u8> {
    (0..DIGIT_SIDE * DIGIT_SIDE)
        .map(|i| ((i * 37 + seed * 101) % 251) as u8)
        .collect()
}

fn folder_is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).expect("ls").next().is_none()
}

#[test]
fn grid_places_each_digit_and_its_caption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("grid.png");
    let digits: Vec<Vec<u8>> = (0..3).map(patterned_digit).collect();
    let images: Vec<&[u8]> = digits.iter().map(Vec::as_slice).collect();
    let captions = vec![
        "1".to_string(),
        misclassified_caption(7, 3),
        "true 7 / pred 3".to_string(),
    ];
    digit_grid_png(&images, &captions, 2, &path).expect("grid written");

    let picture = Picture::read(&path);
    let layout = GridLayout::new(&captions, 2);
    assert_eq!(
        (picture.width, picture.height),
        (layout.width(), layout.height())
    );
    // Two columns, two rows: the caption "true 7 / pred 3" is wider than a digit, so the
    // cells grow to fit it.
    assert_eq!(layout.rows(), 2);
    assert!(layout.cell_width > DIGIT_SIDE * DIGIT_SCALE);
    // Reading order, no overlaps: digit 1 right of digit 0, digit 2 under both, each caption
    // under its digit.
    let side = DIGIT_SIDE * DIGIT_SCALE;
    let origins: Vec<(usize, usize)> = (0..3).map(|i| layout.digit_origin(i)).collect();
    assert!(origins[1].0 >= origins[0].0 + side && origins[1].1 == origins[0].1);
    assert_eq!(origins[2].0, origins[0].0);
    for index in 0..3 {
        let (_, caption_top, _, caption_height) = layout.caption_box(index);
        assert!(caption_top >= origins[index].1 + side);
        if index < 2 {
            assert!(origins[2].1 >= caption_top + caption_height);
        }
    }

    for (index, digit) in digits.iter().enumerate() {
        let (x0, y0) = layout.digit_origin(index);
        for (i, &grey) in digit.iter().enumerate() {
            let (col, row) = (i % DIGIT_SIDE, i / DIGIT_SIDE);
            // Every pixel of the upscaled block, not only one corner.
            for dy in 0..DIGIT_SCALE {
                for dx in 0..DIGIT_SCALE {
                    let got = picture.at(x0 + col * DIGIT_SCALE + dx, y0 + row * DIGIT_SCALE + dy);
                    assert_eq!(got, [255 - grey; 3], "digit {index} pixel {i}");
                }
            }
        }
        let ink = picture.ink_in(layout.caption_box(index), WHITE);
        assert!(ink > 20, "caption {index} barely drawn: {ink} pixels");
    }
    // The fourth cell has no digit: its place stays white.
    let (x, y) = layout.digit_origin(3);
    assert_eq!(picture.ink_in((x, y, side, side), WHITE), 0);
    assert_eq!(picture.ink_in(layout.caption_box(3), WHITE), 0);
}

#[test]
fn titled_grid_makes_room_for_its_heading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("titled.png");
    let digit = patterned_digit(5);
    let captions = vec![misclassified_caption(4, 9)];
    let title = "misclassified test digits: true→predicted";
    titled_digit_grid_png(title, &[&digit], &captions, 10, &path).expect("grid written");
    let picture = Picture::read(&path);
    let plain = GridLayout::new(&captions, 10);
    let layout = plain.with_title(title);
    assert_eq!(
        (picture.width, picture.height),
        (layout.width(), layout.height())
    );
    // The heading is wider than one digit, and sits above it.
    assert!(layout.width() > plain.width() && layout.height() > plain.height());
    let (x, y) = layout.digit_origin(0);
    assert!(picture.ink_in((0, 0, picture.width, y - 1), WHITE) > 200);
    // Source pixel (1, 1) is the block one block right of and below the digit's corner.
    assert_eq!(
        picture.at(x + DIGIT_SCALE, y + DIGIT_SCALE),
        [255 - digit[DIGIT_SIDE + 1]; 3]
    );
}

#[test]
fn grid_rejects_inconsistent_input_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("grid.png");
    let digit = patterned_digit(0);
    let short = vec![0u8; 100];
    let one = vec!["1".to_string()];
    assert!(digit_grid_png(&[&digit], &[], 1, &path).is_err());
    assert!(digit_grid_png(&[&short], &one, 1, &path).is_err());
    assert!(digit_grid_png(&[&digit], &one, 0, &path).is_err());
    assert!(digit_grid_png(&[], &[], 1, &path).is_err());
    assert!(folder_is_empty(dir.path()));
}

/// A matrix with distinct counts everywhere (a strong diagonal, small errors, some zeros).
fn sample_matrix() -> [[usize; 10]; 10] {
    let mut matrix = [[0usize; 10]; 10];
    for (truth, row) in matrix.iter_mut().enumerate() {
        for (predicted, cell) in row.iter_mut().enumerate() {
            *cell = if truth == predicted {
                900 + 23 * truth
            } else {
                (truth * 7 + predicted * 3) % 17
            };
        }
    }
    matrix[3][5] = 1200; // an off-diagonal maximum, so "darkest = diagonal" cannot pass by luck
    matrix
}

#[test]
fn confusion_heat_map_orders_cells_by_count_and_writes_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("confusion.png");
    let matrix = sample_matrix();
    confusion_png(&matrix, &path).expect("heat map written");
    let picture = Picture::read(&path);
    assert_eq!((picture.width, picture.height), confusion_size(&matrix));
    assert!(picture.width >= 10 * CELL && picture.height >= 10 * CELL);

    // A cell's colour, read at its corner, away from the centred count.
    let fill = |t: usize, p: usize| {
        let (x, y) = cell_origin(t, p);
        picture.at(x + 2, y + 2)
    };
    let mut darkest = (f64::INFINITY, (0, 0));
    for t in 0..10 {
        for p in 0..10 {
            let lum = luminance(fill(t, p));
            if lum < darkest.0 {
                darkest = (lum, (t, p));
            }
        }
    }
    assert_eq!(
        darkest.1,
        (3, 5),
        "the darkest cell holds the largest count"
    );
    // Larger counts are never lighter.
    for a in 0..100 {
        for b in 0..100 {
            let (ca, cb) = (matrix[a / 10][a % 10], matrix[b / 10][b % 10]);
            if ca > cb {
                assert!(
                    luminance(fill(a / 10, a % 10)) <= luminance(fill(b / 10, b % 10)),
                    "count {ca} lighter than {cb}"
                );
            }
        }
    }
    // Each count is written in its cell, in a colour that stands out from the cell.
    for (t, p) in [(3, 5), (0, 0), (1, 2), (9, 9)] {
        let (x, y) = cell_origin(t, p);
        let background = fill(t, p);
        let cell = (x, y, CELL - 1, CELL - 1);
        assert!(
            picture.ink_in(cell, background) > 20,
            "no count in ({t}, {p})"
        );
        let mut contrast: f64 = 0.0;
        for row in y..y + CELL - 1 {
            for col in x..x + CELL - 1 {
                let d = luminance(picture.at(col, row)) - luminance(background);
                contrast = contrast.max(d.abs());
            }
        }
        assert!(
            contrast > 100.0,
            "count in ({t}, {p}) hard to read: {contrast}"
        );
    }
}

#[test]
fn confusion_of_nothing_still_draws() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.png");
    confusion_png(&[[0; 10]; 10], &path).expect("heat map written");
    let picture = Picture::read(&path);
    let (x, y) = cell_origin(4, 4);
    assert_eq!(picture.at(x + 2, y + 2), WHITE);
}

fn records(rounds: usize, eval_every: usize) -> Vec<RoundRecord> {
    (1..=rounds)
        .map(|round| RoundRecord {
            round,
            cost: 0.5 / round as f64,
            seconds: 0.1,
            test_accuracy: (eval_every > 0 && round % eval_every == 0)
                .then(|| 100.0 - 50.0 / round as f64),
            validation_accuracy: None,
            eval_seconds: 0.0,
        })
        .collect()
}

/// The mean row of the `colour` pixels in columns `[from, to)` of a plot area.
fn mean_row(
    picture: &Picture,
    colour: Rgb,
    (x, y, w, h): (usize, usize, usize, usize),
    from: f64,
    to: f64,
) -> f64 {
    let (lo, hi) = (x + (from * w as f64) as usize, x + (to * w as f64) as usize);
    let rows: Vec<usize> = picture
        .find(colour)
        .into_iter()
        .filter(|&(px, py)| px >= lo && px < hi && py >= y && py < y + h)
        .map(|(_, py)| py)
        .collect();
    assert!(!rows.is_empty(), "no {colour:?} between {from} and {to}");
    rows.iter().sum::<usize>() as f64 / rows.len() as f64
}

#[test]
fn curves_show_cost_falling_and_accuracy_rising() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("curves.png");
    curves_png(&records(10, 2), &path).expect("plot written");
    let areas = curves(&records(10, 2)).expect("plot").areas;
    let plot_area = |index: usize| areas[index];
    let picture = Picture::read(&path);
    assert_eq!((picture.width, picture.height), (WIDTH, HEIGHT));
    // Screen rows grow downwards: a falling cost sits higher (smaller row) on the left.
    let cost_left = mean_row(&picture, COST_COLOUR, plot_area(0), 0.0, 0.2);
    let cost_right = mean_row(&picture, COST_COLOUR, plot_area(0), 0.8, 1.0);
    assert!(cost_left < cost_right, "{cost_left} vs {cost_right}");
    let acc_left = mean_row(&picture, ACCURACY_COLOUR, plot_area(1), 0.0, 0.3);
    let acc_right = mean_row(&picture, ACCURACY_COLOUR, plot_area(1), 0.8, 1.0);
    assert!(acc_left > acc_right, "{acc_left} vs {acc_right}");
    // Each curve stays in its own panel.
    let (_, top1, _, _) = plot_area(1);
    assert!(picture.find(COST_COLOUR).iter().all(|&(_, y)| y < top1));
    assert!(
        picture
            .find(ACCURACY_COLOUR)
            .iter()
            .all(|&(_, y)| y >= top1)
    );
    // Titles and tick labels are drawn left of and above the plot areas.
    let (x0, y0, _, _) = plot_area(0);
    assert!(picture.ink_in((0, 0, picture.width, y0), WHITE) > 200);
    assert!(picture.ink_in((0, y0, x0 - 4, 200), WHITE) > 100);
}

#[test]
fn curves_without_accuracy_or_with_one_round() {
    let dir = tempfile::tempdir().expect("tempdir");
    let no_accuracy = dir.path().join("no-accuracy.png");
    curves_png(&records(5, 0), &no_accuracy).expect("plot written");
    let plot_area = |index: usize| curves(&records(5, 0)).expect("plot").areas[index];
    let picture = Picture::read(&no_accuracy);
    assert_eq!((picture.width, picture.height), (WIDTH, HEIGHT));
    assert!(picture.find(ACCURACY_COLOUR).is_empty());
    assert!(!picture.find(COST_COLOUR).is_empty());
    // The empty panel says why it is empty.
    assert!(picture.ink_in(plot_area(1), WHITE) > 200);

    let one = dir.path().join("one.png");
    curves_png(&records(1, 1), &one).expect("plot written");
    let picture = Picture::read(&one);
    assert!(!picture.find(COST_COLOUR).is_empty());
    assert!(!picture.find(ACCURACY_COLOUR).is_empty());

    let mut broken = records(4, 1);
    broken[1].cost = f64::NAN;
    broken[2].test_accuracy = Some(f64::INFINITY);
    let odd = dir.path().join("odd.png");
    curves_png(&broken, &odd).expect("plot written");
    Picture::read(&odd);
    curves_png(&[], &dir.path().join("none.png")).expect("empty plot written");
}

#[test]
fn unwritable_output_is_an_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-folder").join("out.png");
    let err = confusion_png(&sample_matrix(), &missing).expect_err("cannot write there");
    assert!(err.to_string().contains("out.png"), "{err}");
    assert!(curves_png(&records(3, 1), &missing).is_err());
    // A folder in the way of the file.
    let folder = dir.path().join("taken.png");
    std::fs::create_dir(&folder).expect("mkdir");
    let digit = patterned_digit(1);
    assert!(digit_grid_png(&[&digit], &["1".to_string()], 1, &folder).is_err());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("taken.png")]);
    assert!(folder_is_empty(&folder));
}

#[test]
fn canvas_rejects_an_empty_picture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.png");
    assert!(Canvas::new(0, 5, WHITE).save_png(&path).is_err());
    assert!(folder_is_empty(dir.path()));
}

/// Writes a raw (not gzipped) IDX data set of `train` and `test` digits into `dir`.
fn write_fixture(dir: &Path, train: usize, test: usize) {
    for (images_name, labels_name, count) in [
        ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", train),
        ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", test),
    ] {
        let mut images = Vec::new();
        for value in [2051u32, count as u32, 28, 28] {
            images.extend_from_slice(&value.to_be_bytes());
        }
        for i in 0..count {
            images.extend(patterned_digit(i));
        }
        let mut labels = Vec::new();
        for value in [2049u32, count as u32] {
            labels.extend_from_slice(&value.to_be_bytes());
        }
        labels.extend((0..count).map(|i| (i * 3 % 10) as u8));
        std::fs::write(dir.join(images_name), images).expect("write images");
        std::fs::write(dir.join(labels_name), labels).expect("write labels");
    }
}

fn mnist_gpu(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mnist-gpu"))
        .args(args)
        .env_remove("MNIST_GPU_DATA")
        .output()
        .expect("run mnist-gpu")
}

/// [`mnist_gpu`], which must succeed (or show its stderr).
fn mnist_gpu_ok(args: &[&str]) -> std::process::Output {
    let run = mnist_gpu(args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    run
}

/// A data folder holding the fixture (3 training and 2 test digits), and an empty output
/// folder with the path of `digits.png` in it.
fn show_folders() -> (tempfile::TempDir, tempfile::TempDir, PathBuf) {
    let data = tempfile::tempdir().expect("tempdir");
    write_fixture(data.path(), 3, 2);
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out = out_dir.path().join("digits.png");
    (data, out_dir, out)
}

#[test]
fn show_draws_the_fixture_digits() {
    let (data, _out_dir, out) = show_folders();
    let data_arg = data.path().to_str().expect("utf-8 path");
    let out_arg = out.to_str().expect("utf-8 path");

    let run = mnist_gpu_ok(&["show", "--data", data_arg, "--out", out_arg]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("digits.png"), "{stdout}");
    // Ten asked for, three exist: one row of three, captioned with labels 0, 3, 6.
    let captions: Vec<String> = ["0", "3", "6"].map(String::from).to_vec();
    let layout = GridLayout::new(&captions, 10);
    let picture = Picture::read(&out);
    assert_eq!(
        (picture.width, picture.height),
        (layout.width(), layout.height())
    );
    let (x, y) = layout.digit_origin(1);
    assert_eq!(picture.at(x, y), [255 - patterned_digit(1)[0]; 3]);

    // The test split, from its second digit.
    mnist_gpu_ok(&[
        "show", "--data", data_arg, "--out", out_arg, "--split", "test", "--start", "1",
    ]);
    let layout = GridLayout::new(&["3".to_string()], 10);
    let picture = Picture::read(&out);
    assert_eq!(
        (picture.width, picture.height),
        (layout.width(), layout.height())
    );
}

#[test]
fn show_rejects_bad_ranges_with_one_line() {
    let (data, out_dir, out) = show_folders();
    let data_arg = data.path().to_str().expect("utf-8 path");
    let out_arg = out.to_str().expect("utf-8 path");
    for (flag, value) in [("--start", "3"), ("--count", "0"), ("--count", "100000")] {
        let run = mnist_gpu(&["show", "--data", data_arg, "--out", out_arg, flag, value]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{flag} {value} accepted");
        // The fixture is not MNIST, so a `notice:` line may come first; the error is one line.
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.starts_with("notice: "))
            .collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(flag),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let missing = out_dir.path().join("nowhere").join("x.png");
    let run = mnist_gpu(&[
        "show",
        "--data",
        data_arg,
        "--out",
        missing.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(folder_is_empty(out_dir.path()));
}

/// `show --weights`: the first layer of a model trained on the fixture, one map per unit in
/// the grid's places, coloured by the diverging map (a blue or red pixel in each map, never a
/// grey one), the strongest unit first; without `--model`, or onto the model itself, refused.
#[test]
fn show_weights_draws_one_map_per_first_layer_unit() {
    let (data, out_dir, out) = show_folders();
    let data_arg = data.path().to_str().expect("utf-8 path");
    let out_arg = out.to_str().expect("utf-8 path");
    let model = out_dir.path().join("m.safetensors");
    let model_arg = model.to_str().expect("utf-8 path");
    mnist_gpu_ok(&[
        "train", "--cpu", "--data", data_arg, "--hidden", "12", "--rounds", "1", "--save",
        model_arg,
    ]);
    let run = mnist_gpu_ok(&["show", "--weights", "--model", model_arg, "--out", out_arg]);
    assert!(String::from_utf8_lossy(&run.stdout).contains("12 of the 12"));
    let saved = mnist_gpu::model_file::load(&model).expect("model");
    let first = &saved.network.layers[0];
    let units = strongest_units(&first.weights, first.inputs, 12);
    let picture = Picture::read(&out);
    let captions: Vec<String> = units.iter().map(|u| format!("#{u}")).collect();
    let scale = first.weights.iter().fold(0.0f32, |m, w| m.max(w.abs()));
    let title = format!(
        "first-layer weights, 12 of 12 units, strongest first (red +, blue −, full colour at ±{scale:.3})"
    );
    let layout = GridLayout::new(&captions, 10).with_title(&title);
    assert_eq!(
        (picture.width, picture.height),
        (layout.width(), layout.height())
    );
    for (index, &unit) in units.iter().enumerate() {
        let (x, y) = layout.digit_origin(index);
        // Pixel 0's block: the colour of that weight on the shared scale.
        let w = first.weights[unit * first.inputs];
        assert_eq!(picture.at(x, y), diverging(w / scale), "unit {unit}");
        let coloured = (0..784).map(|p| picture.at(x + (p % 28) * 4, y + (p / 28) * 4));
        assert!(
            coloured.clone().all(|[r, _, b]| r == 255 || b == 255),
            "unit {unit}: a pixel off the diverging map"
        );
        assert!(coloured.clone().any(|c| c != WHITE), "unit {unit}: blank");
    }

    let refused = [
        vec!["show", "--weights", "--out", out_arg],
        vec![
            "show",
            "--weights",
            "--model",
            model_arg,
            "--out",
            model_arg,
        ],
        vec![
            "show",
            "--weights",
            "--model",
            model_arg,
            "--out",
            out_arg,
            "--count",
            "13",
        ],
    ];
    for args in refused {
        let run = mnist_gpu(&args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{args:?} accepted");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    assert!(
        mnist_gpu::model_file::load(&model).is_ok(),
        "the model was overwritten"
    );
}

/// `predict --show-activations`: one row per picture, each hidden unit's cell shaded by its
/// activation as the model computes it (the most active unit full orange, an idle one white);
/// onto the picture itself, refused.
#[test]
fn predict_draws_the_hidden_activations_of_each_picture() {
    let (data, out_dir, out) = show_folders();
    let data_arg = data.path().to_str().expect("utf-8 path");
    let model = out_dir.path().join("m.safetensors");
    let model_arg = model.to_str().expect("utf-8 path");
    mnist_gpu_ok(&[
        "train",
        "--cpu",
        "--data",
        data_arg,
        "--hidden",
        "16",
        "--rounds",
        "1",
        "--activation",
        "relu",
        "--save",
        model_arg,
    ]);
    let saved = mnist_gpu::model_file::load(&model).expect("model");
    let mut pictures = Vec::new();
    for seed in [1, 2] {
        let digit = patterned_digit(seed);
        let path = out_dir.path().join(format!("digit{seed}.png"));
        let grey: Vec<u8> = digit.iter().map(|v| 255 - v).collect();
        image::GrayImage::from_raw(28, 28, grey)
            .expect("28×28")
            .save(&path)
            .expect("save the picture");
        pictures.push(path);
    }
    let (a, b) = (
        pictures[0].to_str().expect("utf-8"),
        pictures[1].to_str().expect("utf-8"),
    );
    let out_arg = out.to_str().expect("utf-8 path");
    let run = mnist_gpu_ok(&[
        "predict",
        "--model",
        model_arg,
        a,
        b,
        "--show-activations",
        out_arg,
    ]);
    assert!(String::from_utf8_lossy(&run.stdout).contains("activations drawn to"));
    let picture = Picture::read(&out);
    // The same rows, drawn by the library from the model's own forward pass.
    let rows: Vec<_> = pictures
        .iter()
        .map(|path| {
            let image = mnist_gpu::predict::read_picture(path).expect("picture");
            let input = mnist_gpu::predict::mnist_input(path, &image).expect("input");
            let layers = saved.network.forward_layers(&input);
            let digit = mnist_gpu::model::argmax(layers.last().expect("outputs"));
            let name = path.file_name().expect("name").to_string_lossy();
            (format!("{name}: reads {digit}"), input, layers)
        })
        .collect();
    let expected = mnist_gpu::report::activations::activations_pictures(&rows).expect("drawn");
    assert_eq!(
        (picture.width, picture.height),
        (expected.width(), expected.height())
    );
    let differing = (0..picture.height)
        .flat_map(|y| (0..picture.width).map(move |x| (x, y)))
        .filter(|&(x, y)| Some(picture.at(x, y)) != expected.pixel(x, y))
        .count();
    assert_eq!(
        differing, 0,
        "the picture differs from the model's activations"
    );
    // Each row shows some active and some idle units (relu: zeros are common).
    let hidden = &rows[0].2[0];
    assert!(hidden.iter().any(|&v| v > 0.0), "no unit is active");

    let run = mnist_gpu(&["predict", "--model", model_arg, a, "--show-activations", a]);
    assert!(!run.status.success());
    assert_eq!(
        String::from_utf8_lossy(&run.stderr).trim().lines().count(),
        1
    );
    assert!(
        mnist_gpu::predict::read_picture(&pictures[0]).is_ok(),
        "the picture was replaced"
    );
}

#[test]
fn train_plot_draws_the_run_and_checks_its_folder_first() {
    let data = tempfile::tempdir().expect("tempdir");
    write_fixture(data.path(), 3, 2);
    let out_dir = tempfile::tempdir().expect("tempdir");
    let plot = out_dir.path().join("curves.png");
    let data_arg = data.path().to_str().expect("utf-8 path");
    let train = |plot: &Path| {
        mnist_gpu(&[
            "train",
            "--cpu",
            "--data",
            data_arg,
            "--hidden",
            "4",
            "--rounds",
            "3",
            "--batch-size",
            "3",
            "--eval-every",
            "1",
            "--plot",
            plot.to_str().expect("utf-8 path"),
        ])
    };
    let run = train(&plot);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let picture = Picture::read(&plot);
    assert_eq!((picture.width, picture.height), (WIDTH, HEIGHT));
    assert!(!picture.find(COST_COLOUR).is_empty());
    assert!(!picture.find(ACCURACY_COLOUR).is_empty());

    // A plot that could not be written is refused before training, not after.
    let run = train(&out_dir.path().join("nowhere").join("curves.png"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(!String::from_utf8_lossy(&run.stdout).contains("round"));
}
