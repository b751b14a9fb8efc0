//! The data layer: IDX parsing and validation, content checksums, where data is looked for, and
//! downloading from mirrors (a loopback HTTP server stands in for them; no real network).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mnist_gpu::Error;
use mnist_gpu::data::checksums::sha256_hex;
use mnist_gpu::data::download::{Outcome, Progress, Quiet, download};
use mnist_gpu::data::locate::{Origin, cache_dir_in, locate, missing_files};
use mnist_gpu::data::{Dataset, FILE_STEMS, Mnist, Split, idx};

mod common;

use common::file_names;

// ---------------------------------------------------------------- fixtures

/// `count` 28×28 images of seeded pseudo-random pixels, labelled `i % 10`.
fn dataset(count: usize, seed: u32) -> Dataset {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let images = (0..count * 784)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    Dataset {
        images,
        labels: (0..count).map(|i| (i % 10) as u8).collect(),
        rows: 28,
        cols: 28,
    }
}

fn fixture() -> Mnist {
    Mnist::new(dataset(20, 1), dataset(10, 2), PathBuf::new())
}

/// The four decompressed contents of the fixture, in `FILE_STEMS` order.
fn contents(data: &Mnist) -> [Vec<u8>; 4] {
    [
        idx::encode_images(20, 28, 28, &data.train.images),
        idx::encode_labels(&data.train.labels),
        idx::encode_images(10, 28, 28, &data.test.images),
        idx::encode_labels(&data.test.labels),
    ]
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

fn saved_fixture(gz: bool) -> (tempfile::TempDir, Mnist) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = fixture();
    data.save(dir.path(), gz).expect("save fixture");
    (dir, data)
}

// ---------------------------------------------------------------- IDX

#[test]
fn loads_gzipped_and_raw_fixtures_alike() {
    for gz in [true, false] {
        let (dir, data) = saved_fixture(gz);
        let loaded = Mnist::load(dir.path()).expect("load");
        assert_eq!(loaded.train, data.train, "gz={gz}");
        assert_eq!(loaded.test, data.test, "gz={gz}");
        assert_eq!(loaded.split(Split::Test).len(), 10);
        // The checksums are of the content, so .gz and raw agree with each other and with the
        // in-memory construction.
        assert_eq!(loaded.sha256, data.sha256, "gz={gz}");
        let expected: Vec<String> = contents(&data).iter().map(|c| sha256_hex(c)).collect();
        assert_eq!(loaded.sha256.to_vec(), expected);
        assert!(!loaded.is_mnist());
    }
}

/// Saves the fixture, replaces file `stem` (raw) by `bytes`, and returns the load error's text.
fn load_error_with(stem: &str, bytes: &[u8]) -> String {
    let (dir, _) = saved_fixture(false);
    std::fs::write(dir.path().join(stem), bytes).expect("write bad file");
    let err = Mnist::load(dir.path()).expect_err("a bad file must not load");
    let text = err.to_string();
    assert!(text.contains(stem), "the error must name the file: {text}");
    assert!(!text.contains('\n'), "one line: {text}");
    text
}

#[test]
fn wrong_magic_is_rejected() {
    let data = fixture();
    let mut bytes = contents(&data)[0].clone();
    bytes[3] = 0x01; // 2049, the label magic
    let text = load_error_with(FILE_STEMS[0], &bytes);
    assert!(text.contains("magic 2049, expected 2051"), "{text}");
}

#[test]
fn truncated_header_and_data_are_rejected() {
    let text = load_error_with(FILE_STEMS[1], &[0, 0, 8, 1, 0]);
    assert!(text.contains("truncated IDX header"), "{text}");
    let data = fixture();
    let images = &contents(&data)[2];
    let text = load_error_with(FILE_STEMS[2], &images[..images.len() - 100]);
    assert!(text.contains("truncated"), "{text}");
    let mut long = images.clone();
    long.push(0);
    let text = load_error_with(FILE_STEMS[2], &long);
    assert!(text.contains("longer than its header declares"), "{text}");
}

#[test]
fn other_dimensions_are_rejected() {
    let bytes = idx::encode_images(2, 32, 32, &[0; 2 * 32 * 32]);
    let text = load_error_with(FILE_STEMS[0], &bytes);
    assert!(text.contains("32×32, expected 28×28"), "{text}");
}

#[test]
fn counts_must_agree() {
    let text = load_error_with(FILE_STEMS[3], &idx::encode_labels(&[1, 2, 3]));
    assert!(text.contains("3 labels but"), "{text}");
    assert!(text.contains("has 10 images"), "{text}");
}

#[test]
fn labels_must_be_digits() {
    let text = load_error_with(FILE_STEMS[1], &idx::encode_labels(&[0; 19].map(|_| 3)));
    assert!(text.contains("19 labels but"), "{text}");
    let mut labels = fixture().train.labels;
    labels[5] = 10;
    let text = load_error_with(FILE_STEMS[1], &idx::encode_labels(&labels));
    assert!(text.contains("label 10 is not a digit"), "{text}");
}

#[test]
fn corrupt_gzip_is_rejected() {
    let (dir, data) = saved_fixture(true);
    let compressed = gzip(&contents(&data)[0]);
    let path = dir.path().join(format!("{}.gz", FILE_STEMS[0]));
    std::fs::write(&path, &compressed[..compressed.len() / 2]).expect("write");
    let text = Mnist::load(dir.path()).expect_err("corrupt").to_string();
    assert!(text.contains("corrupt gzip data"), "{text}");
    assert!(text.contains(FILE_STEMS[0]), "{text}");
}

#[test]
fn missing_file_and_folder_are_named() {
    let (dir, _) = saved_fixture(true);
    std::fs::remove_file(dir.path().join(format!("{}.gz", FILE_STEMS[3]))).expect("rm");
    assert_eq!(missing_files(dir.path()), vec![FILE_STEMS[3]]);
    let text = Mnist::load(dir.path()).expect_err("missing").to_string();
    assert!(text.contains(FILE_STEMS[3]), "{text}");
    let text = Mnist::load(&dir.path().join("nope"))
        .expect_err("no folder")
        .to_string();
    assert!(text.contains("no such folder"), "{text}");
}

#[test]
fn real_mnist_matches_its_checksums() {
    let Some(dir) = common::real_mnist_dir("real_mnist_matches_its_checksums") else {
        return;
    };
    let data = Mnist::load(Path::new(&dir)).expect("load real MNIST");
    assert_eq!((data.train.len(), data.test.len()), (60_000, 10_000));
    assert!(data.is_mnist(), "checksums {:?}", data.sha256);
}

// ---------------------------------------------------------------- locate

#[test]
fn flag_wins_over_env_over_cache() {
    let (flag, env, cache) = (Path::new("/f"), Path::new("/e"), Path::new("/c"));
    let at = locate(Some(flag), Some(env), Some(cache)).expect("flag");
    assert_eq!((at.dir.as_path(), at.origin), (flag, Origin::Flag));
    assert!(at.is_explicit());
    let at = locate(None, Some(env), Some(cache)).expect("env");
    assert_eq!((at.dir.as_path(), at.origin), (env, Origin::Env));
    // An empty value counts as unset.
    let at = locate(Some(Path::new("")), Some(Path::new("")), Some(cache)).expect("cache");
    assert_eq!(at.dir, cache_dir_in(cache));
    assert_eq!(at.dir, Path::new("/c/mnist-gpu/mnist"));
    assert_eq!(at.origin, Origin::Cache);
    assert!(!at.is_explicit());
    let err = locate(None, None, None).expect_err("nowhere");
    assert!(err.to_string().contains("--data"), "{err}");
}

// ---------------------------------------------------------------- download

/// A loopback HTTP/1.1 server answering `GET path` from `routes` (404 otherwise), one request
/// per connection. It serves at most `MAX_CONNECTIONS` connections, then its thread ends.
struct Server {
    base: String,
    hits: Arc<AtomicUsize>,
}

const MAX_CONNECTIONS: usize = 64;

fn serve(routes: HashMap<String, Vec<u8>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(MAX_CONNECTIONS) {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, body) = match routes.get(&path) {
                Some(body) => ("200 OK", body.clone()),
                None => ("404 Not Found", b"not found".to_vec()),
            };
            let header = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(header.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    Server { base, hits }
}

/// Routes serving the fixture's four .gz files under `prefix`, after `edit` may spoil some.
fn routes(
    prefix: &str,
    data: &Mnist,
    edit: impl Fn(usize, Vec<u8>) -> Vec<u8>,
) -> HashMap<String, Vec<u8>> {
    FILE_STEMS
        .iter()
        .zip(contents(data))
        .enumerate()
        .map(|(i, (stem, content))| (format!("{prefix}/{stem}.gz"), edit(i, gzip(&content))))
        .collect()
}

/// A server with the `bad` routes under `/bad` and every file of `data` intact under `/good`,
/// and the two mirrors in that order.
fn bad_then_good_mirror(bad: HashMap<String, Vec<u8>>, data: &Mnist) -> (Server, [String; 2]) {
    let mut all = bad;
    all.extend(routes("/good", data, |_, body| body));
    let server = serve(all);
    let mirrors = [
        format!("{}/bad", server.base),
        format!("{}/good", server.base),
    ];
    (server, mirrors)
}

fn expected(data: &Mnist) -> [Option<&str>; 4] {
    [0, 1, 2, 3].map(|i| Some(data.sha256[i].as_str()))
}

/// Counts the bytes reported, to check the progress callbacks.
#[derive(Default)]
struct Recorder {
    urls: Vec<String>,
    bytes: u64,
    done: Vec<String>,
}

impl Progress for Recorder {
    fn start(&mut self, url: &str, _total: Option<u64>) {
        self.urls.push(url.to_string());
    }
    fn advance(&mut self, bytes: u64) {
        self.bytes += bytes;
    }
    fn finish(&mut self) {}
    fn file_done(&mut self, stem: &str, _outcome: &Outcome) {
        self.done.push(stem.to_string());
    }
}

#[test]
fn downloads_verifies_and_then_skips() {
    let data = fixture();
    let server = serve(routes("/m", &data, |_, body| body));
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("new");
    let mut recorder = Recorder::default();
    let mirror = format!("{}/m/", server.base);
    let outcomes = download(&target, &[mirror], expected(&data), &mut recorder).expect("download");
    let mut total = 0;
    for (stem, outcome) in &outcomes {
        match outcome {
            Outcome::Downloaded {
                path,
                url,
                bytes,
                rejected,
            } => {
                assert_eq!(url, &format!("{}/m/{stem}.gz", server.base));
                assert!(rejected.is_empty(), "{rejected:?}");
                assert_eq!(std::fs::metadata(path).expect("saved").len(), *bytes);
                total += bytes;
            }
            other => panic!("{stem}: expected a download, got {other:?}"),
        }
    }
    assert_eq!(recorder.bytes, total, "progress saw every byte");
    assert_eq!(recorder.done, FILE_STEMS.map(String::from));
    assert!(
        recorder.urls.iter().all(|u| u.starts_with(&server.base)),
        "{:?}",
        recorder.urls
    );
    let loaded = Mnist::load(&target).expect("load downloaded");
    assert_eq!(loaded.sha256, data.sha256);
    assert_eq!(loaded.train, data.train);

    // A second run fetches nothing.
    let hits = server.hits.load(Ordering::SeqCst);
    let outcomes = download(
        &target,
        std::slice::from_ref(&server.base),
        expected(&data),
        &mut Quiet,
    )
    .expect("second run");
    assert!(
        outcomes
            .iter()
            .all(|(_, o)| matches!(o, Outcome::AlreadyPresent { .. }))
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), hits);
}

#[test]
fn corrupt_and_missing_mirrors_are_skipped() {
    let data = fixture();
    // Mirror /bad serves valid gzip of wrong content for file 0 and broken gzip for file 1;
    // files 2 and 3 are absent there (404). Mirror /good serves everything right.
    let mut bad = routes("/bad", &data, |i, mut body| {
        match i {
            0 => body = gzip(b"not the images"),
            1 => body.truncate(body.len() / 2),
            _ => {}
        }
        body
    });
    bad.retain(|path, _| !path.contains("t10k"));
    let (_server, mirrors) = bad_then_good_mirror(bad, &data);
    let dir = tempfile::tempdir().expect("tempdir");
    let outcomes = download(dir.path(), &mirrors, expected(&data), &mut Quiet).expect("download");
    let reasons: Vec<String> = outcomes
        .iter()
        .map(|(stem, outcome)| match outcome {
            Outcome::Downloaded { url, rejected, .. } => {
                assert!(url.contains("/good/"), "{stem} from {url}");
                assert_eq!(rejected.len(), 1, "{rejected:?}");
                rejected[0].clone()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(reasons[0].contains("wrong content"), "{}", reasons[0]);
    assert!(reasons[1].contains("corrupt gzip"), "{}", reasons[1]);
    assert!(reasons[2].contains("404"), "{}", reasons[2]);
    // Exactly the four verified files: no temporary or rejected file left behind.
    let want: Vec<String> = FILE_STEMS.iter().map(|s| format!("{s}.gz")).collect();
    let mut want = want;
    want.sort();
    assert_eq!(file_names(dir.path()), want);
    assert!(Mnist::load(dir.path()).is_ok());
}

#[test]
fn all_mirrors_bad_is_one_clear_error_and_leaves_nothing() {
    let data = fixture();
    let server = serve(routes("/bad", &data, |_, _| gzip(b"wrong")));
    let dir = tempfile::tempdir().expect("tempdir");
    let mirrors = [
        format!("{}/bad", server.base),
        format!("{}/absent", server.base),
        // Nothing listens on port 1: connection refused.
        "http://127.0.0.1:1".to_string(),
    ];
    let err = download(dir.path(), &mirrors, expected(&data), &mut Quiet).expect_err("no mirror");
    assert!(matches!(err, Error::Download(_)), "{err:?}");
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(text.contains(FILE_STEMS[0]), "{text}");
    for mirror in &mirrors {
        assert!(text.contains(mirror.as_str()), "{mirror} not in {text}");
    }
    assert!(
        text.contains("wrong content") && text.contains("404"),
        "{text}"
    );
    assert!(
        file_names(dir.path()).is_empty(),
        "{:?}",
        file_names(dir.path())
    );
}

#[test]
fn a_failed_download_leaves_the_folder_as_it_found_it() {
    let data = fixture();
    // The third file is wrong on the only mirror: the first two were fetched and verified.
    let server = serve(routes("/m", &data, |i, body| {
        if i == 2 { gzip(b"wrong") } else { body }
    }));
    let mirror = format!("{}/m", server.base);
    let dir = tempfile::tempdir().expect("tempdir");

    // A folder that did not exist (nor its parent) is not left behind, empty or partial.
    let target = dir.path().join("new").join("mnist");
    let err = download(
        &target,
        std::slice::from_ref(&mirror),
        expected(&data),
        &mut Quiet,
    )
    .expect_err("bad");
    assert!(err.to_string().contains(FILE_STEMS[2]), "{err}");
    assert!(!dir.path().join("new").exists());

    // A folder that existed keeps what it held, and only that.
    let existing = dir.path().join("mine");
    std::fs::create_dir(&existing).expect("mkdir");
    std::fs::write(existing.join("notes.txt"), b"mine").expect("write");
    download(&existing, &[mirror], expected(&data), &mut Quiet).expect_err("bad");
    assert_eq!(file_names(&existing), ["notes.txt"]);
}

#[test]
fn a_different_file_in_the_way_is_never_overwritten() {
    let data = fixture();
    let server = serve(routes("/m", &data, |_, body| body));
    let dir = tempfile::tempdir().expect("tempdir");
    let own = dir.path().join(FILE_STEMS[0]);
    std::fs::write(&own, b"the user's own file").expect("write");
    let err = download(
        dir.path(),
        std::slice::from_ref(&server.base),
        expected(&data),
        &mut Quiet,
    )
    .expect_err("must not overwrite");
    assert!(err.to_string().contains("not the expected file"), "{err}");
    assert_eq!(std::fs::read(&own).expect("read"), b"the user's own file");
    assert_eq!(server.hits.load(Ordering::SeqCst), 0);
}

#[test]
fn without_checksums_any_well_formed_idx_is_accepted() {
    // Another data set in MNIST's format (Fashion-MNIST...): no checksums, but the content
    // must still be a valid IDX file of its kind.
    let data = fixture();
    let bad = routes(
        "/bad",
        &data,
        |i, body| if i == 2 { gzip(b"garbage") } else { body },
    );
    let (_server, mirrors) = bad_then_good_mirror(bad, &data);
    let dir = tempfile::tempdir().expect("tempdir");
    let outcomes = download(dir.path(), &mirrors, [None; 4], &mut Quiet).expect("download");
    for (i, (stem, outcome)) in outcomes.iter().enumerate() {
        let Outcome::Downloaded { url, rejected, .. } = outcome else {
            panic!("{stem}: {outcome:?}");
        };
        if i == 2 {
            assert!(url.contains("/good/"), "{url}");
            assert!(rejected[0].contains("not a valid IDX file"), "{rejected:?}");
        } else {
            assert!(url.contains("/bad/"), "{url}");
        }
    }
    assert_eq!(Mnist::load(dir.path()).expect("load").sha256, data.sha256);
}
