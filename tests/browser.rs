//! `mnist-gpu serve` in a real browser: headless Chromium, driven through chromedriver
//! (WebDriver), opens the page of `mnist-gpu serve --model m.safetensors` (a model the binary
//! trains first: 20 rounds, about 10 s on 2 cores), draws real MNIST test digits stroke by
//! stroke with pointer actions (mouse, pen and touch), and reads the page's answer for each; it
//! also classifies a chosen and a dropped picture file, clears with a key and the button, undoes
//! a stroke, checks the layout on a phone-sized window, and saves a screenshot.
//!
//! The strokes are traced from the digits themselves: the ink is thinned to a one-pixel
//! skeleton (Zhang–Suen), the skeleton walked into polylines, and each polyline drawn with the
//! page's pen, which is two MNIST pixels wide like MNIST's strokes.
//!
//! Needs `chromedriver` and Chromium (Debian: `chromium chromium-driver`) and the real MNIST in
//! MNIST_GPU_DATA. Without them it prints a `SKIPPED` line saying what to install and passes, unless
//! MNIST_GPU_REQUIRE_BROWSER=1 (CI), where it fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{
    InputSource, KeyAction, KeyActions, MOUSE_BUTTON_LEFT, MouseActions, PenActions, PointerAction,
    TouchActions,
};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use mnist_gpu::data::{Dataset, Split, load_split};
use serde_json::{Value, json};

mod chromium;
use chromium::{CHROMIUM_INSTALL, Process, missing, on_path, start_chromedriver};

/// MNIST's side and the threshold above which a pixel counts as ink for the skeleton.
const SIDE: usize = 28;
const INK: u8 = 128;
/// Pointer moves per MNIST pixel along a stroke: dense moves draw curves, not chords.
const MOVES_PER_PIXEL: usize = 4;
/// How long the page may take to answer after the last stroke.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// Trains a model with the binary (20 rounds on the CPU: about 10 s) and starts
/// `mnist-gpu serve --model` on port 0; returns the server and the page's URL.
fn start_server(data: &Path, model: &Path) -> (Process, String) {
    let trained = Command::new(env!("CARGO_BIN_EXE_mnist-gpu"))
        .args([
            "train",
            "--cpu",
            "--offline",
            "--hidden",
            "128",
            "--rounds",
            "20",
        ])
        .args(["--batch-size", "20", "--lr", "0.5", "--shuffle", "--data"])
        .arg(data)
        .arg("--save")
        .arg(model)
        .output()
        .expect("run mnist-gpu train");
    assert!(
        trained.status.success(),
        "training failed: {}",
        String::from_utf8_lossy(&trained.stderr)
    );
    let mut serve = Command::new(env!("CARGO_BIN_EXE_mnist-gpu"));
    serve.args(["serve", "--port", "0", "--model"]).arg(model);
    let (server, url, _) = spawn_server(serve);
    (server, url)
}

/// Starts `serve` (a `mnist-gpu serve` command on port 0); returns the server, the page's URL
/// and the lines it printed before it.
fn spawn_server(mut serve: Command) -> (Process, String, Vec<String>) {
    let mut child = serve
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mnist-gpu serve");
    let stdout = child.stdout.take().expect("stdout");
    let server = Process(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    let url = loop {
        let line = lines
            .next()
            .expect("the server stopped before printing its address")
            .expect("line");
        println!("server: {line}");
        if let Some(at) = line.find("http://") {
            let url = &line[at..];
            break url[..url.find(' ').unwrap_or(url.len())].to_string();
        }
        printed.push(line);
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (server, url, printed)
}

/// Zhang–Suen thinning of a binary picture (`true`: ink) to a one-pixel-wide skeleton.
fn thin(ink: &mut [bool], width: usize, height: usize) {
    let at = |ink: &[bool], x: isize, y: isize| -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < width
            && (y as usize) < height
            && ink[y as usize * width + x as usize]
    };
    loop {
        let mut changed = false;
        for pass in 0..2 {
            let mut remove = Vec::new();
            for y in 0..height as isize {
                for x in 0..width as isize {
                    if !at(ink, x, y) {
                        continue;
                    }
                    // P2..P9 clockwise from north.
                    let p = [
                        at(ink, x, y - 1),
                        at(ink, x + 1, y - 1),
                        at(ink, x + 1, y),
                        at(ink, x + 1, y + 1),
                        at(ink, x, y + 1),
                        at(ink, x - 1, y + 1),
                        at(ink, x - 1, y),
                        at(ink, x - 1, y - 1),
                    ];
                    let neighbours = p.iter().filter(|&&v| v).count();
                    let transitions = (0..8).filter(|&i| !p[i] && p[(i + 1) % 8]).count();
                    let (a, b) = if pass == 0 {
                        (p[0] && p[2] && p[4], p[2] && p[4] && p[6])
                    } else {
                        (p[0] && p[2] && p[6], p[0] && p[4] && p[6])
                    };
                    if (2..=6).contains(&neighbours) && transitions == 1 && !a && !b {
                        remove.push(y as usize * width + x as usize);
                    }
                }
            }
            changed |= !remove.is_empty();
            for i in remove {
                ink[i] = false;
            }
        }
        if !changed {
            break;
        }
    }
}

/// The skeleton of a 28×28 MNIST digit as strokes of pixel positions, each stroke a walk
/// through neighbouring skeleton pixels, starting from loose ends first.
fn strokes_of(image: &[u8]) -> Vec<Vec<(usize, usize)>> {
    let mut skeleton: Vec<bool> = image.iter().map(|&p| p >= INK).collect();
    thin(&mut skeleton, SIDE, SIDE);
    let neighbours = |i: usize| -> Vec<usize> {
        let (x, y) = ((i % SIDE) as isize, (i / SIDE) as isize);
        // Edge neighbours first: walks prefer straight steps over diagonal ones.
        [
            (0, -1),
            (1, 0),
            (0, 1),
            (-1, 0),
            (1, -1),
            (1, 1),
            (-1, 1),
            (-1, -1),
        ]
        .iter()
        .map(|(dx, dy)| (x + dx, y + dy))
        .filter(|&(nx, ny)| nx >= 0 && ny >= 0 && nx < SIDE as isize && ny < SIDE as isize)
        .map(|(nx, ny)| ny as usize * SIDE + nx as usize)
        .filter(|&n| skeleton[n])
        .collect()
    };
    let mut visited = vec![false; SIDE * SIDE];
    let mut strokes = Vec::new();
    loop {
        let unvisited = |i: &usize| skeleton[*i] && !visited[*i];
        let free =
            |i: usize, visited: &[bool]| neighbours(i).into_iter().filter(|&n| !visited[n]).count();
        let Some(start) = (0..SIDE * SIDE)
            .filter(unvisited)
            .min_by_key(|&i| free(i, &visited))
        else {
            break;
        };
        let mut stroke = Vec::new();
        // Join a branch to the stroke it leaves from, so junctions have no gaps.
        if let Some(joint) = neighbours(start).into_iter().find(|&n| visited[n]) {
            stroke.push(joint);
        }
        let mut current = start;
        visited[current] = true;
        stroke.push(current);
        while let Some(next) = neighbours(current).into_iter().find(|&n| !visited[n]) {
            visited[next] = true;
            stroke.push(next);
            current = next;
        }
        strokes.push(stroke);
    }
    strokes
        .into_iter()
        .map(|s| s.into_iter().map(|i| (i % SIDE, i / SIDE)).collect())
        .collect()
}

/// How a stroke is drawn: which WebDriver pointer device.
#[derive(Clone, Copy, Debug)]
enum Device {
    Mouse,
    Pen,
    Touch,
}

/// The pointer actions drawing `stroke` on the pad (`side` CSS pixels wide): MNIST pixel
/// centres mapped onto the pad, with dense moves in between.
fn stroke_actions(pad: &Element, side: f64, stroke: &[(usize, usize)]) -> Vec<PointerAction> {
    let scale = side / SIDE as f64;
    // Offsets from the pad's centre, as WebDriver's element origin wants them.
    let place = |(x, y): (f64, f64)| {
        (
            (x + 0.5 - SIDE as f64 / 2.0) * scale,
            (y + 0.5 - SIDE as f64 / 2.0) * scale,
        )
    };
    let to = |(x, y): (f64, f64)| PointerAction::MoveToElement {
        element: pad.clone(),
        duration: Some(Duration::from_millis(5)),
        x,
        y,
    };
    let points = smooth(stroke);
    let mut actions = vec![
        to(place(points[0])),
        PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        },
    ];
    for pair in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        for step in 1..=MOVES_PER_PIXEL {
            let t = step as f64 / MOVES_PER_PIXEL as f64;
            actions.push(to(place((x0 + t * (x1 - x0), y0 + t * (y1 - y0)))));
        }
    }
    if points.len() == 1 {
        actions.push(to(place((points[0].0 + 0.2, points[0].1))));
    }
    actions.push(PointerAction::Up {
        button: MOUSE_BUTTON_LEFT,
    });
    actions
}

/// A stroke's pixel positions with the skeleton's staircase steps smoothed away: two passes of
/// a (1, 2, 1)/4 average over inner points, the ends kept, as a hand draws curves.
fn smooth(stroke: &[(usize, usize)]) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = stroke.iter().map(|&(x, y)| (x as f64, y as f64)).collect();
    for _ in 0..2 {
        let before = points.clone();
        for i in 1..points.len().saturating_sub(1) {
            points[i] = (
                (before[i - 1].0 + 2.0 * before[i].0 + before[i + 1].0) / 4.0,
                (before[i - 1].1 + 2.0 * before[i].1 + before[i + 1].1) / 4.0,
            );
        }
    }
    points
}

async fn draw(client: &Client, pad: &Element, side: f64, digit: &[u8], device: Device) -> usize {
    let strokes = strokes_of(digit);
    for (n, stroke) in strokes.iter().enumerate() {
        let id = format!("{device:?}-{n}");
        let actions = stroke_actions(pad, side, stroke);
        let result = match device {
            Device::Mouse => {
                let seq = actions
                    .into_iter()
                    .fold(MouseActions::new(id), |s, a| s.then(a));
                client.perform_actions(seq).await
            }
            Device::Pen => {
                let seq = actions
                    .into_iter()
                    .fold(PenActions::new(id), |s, a| s.then(a));
                client.perform_actions(seq).await
            }
            Device::Touch => {
                let seq = actions
                    .into_iter()
                    .fold(TouchActions::new(id), |s, a| s.then(a));
                client.perform_actions(seq).await
            }
        };
        result.expect("draw a stroke");
        client.release_actions().await.expect("release");
    }
    strokes.len()
}

/// The page's prediction state: `(status, strokes it was made for, shown digit, ink in the
/// 28×28 input view)`.
async fn page_state(client: &Client) -> (String, usize, String, f64) {
    let state = client
        .execute(
            "const p = document.getElementById('prediction');
             const px = document.getElementById('seen').getContext('2d').getImageData(0, 0, 28, 28).data;
             let ink = 0; for (let i = 0; i < px.length; i += 4) ink += px[i];
             return [p.dataset.status, Number(p.dataset.strokes), document.getElementById('digit').textContent, ink];",
            vec![],
        )
        .await
        .expect("read the page");
    (
        state[0].as_str().unwrap_or("").to_string(),
        state[1].as_u64().unwrap_or(0) as usize,
        state[2].as_str().unwrap_or("").to_string(),
        state[3].as_f64().unwrap_or(0.0),
    )
}

/// Waits for the page's answer for a drawing of `strokes` strokes and returns the digit shown.
async fn answer(client: &Client, strokes: usize) -> String {
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    loop {
        let (status, done, digit, ink) = page_state(client).await;
        if status == "ready" && done == strokes {
            assert!(ink > 0.0, "the 28×28 input view is empty");
            return digit;
        }
        assert!(status != "error", "the page shows an error");
        assert!(
            Instant::now() < deadline,
            "no answer for {strokes} strokes: status {status}, made for {done} strokes, showing {digit}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Presses and releases Escape, which clears the pad.
async fn press_escape(client: &Client) {
    let keys = KeyActions::new("keys".into())
        .then(KeyAction::Down {
            value: Key::Escape.into(),
        })
        .then(KeyAction::Up {
            value: Key::Escape.into(),
        });
    client.perform_actions(keys).await.expect("Escape");
}

/// The drawing pad, once the page shows it, and its width in CSS pixels.
async fn pad(client: &Client) -> (Element, f64) {
    let pad = client
        .wait()
        .for_element(Locator::Id("pad"))
        .await
        .expect("the pad");
    let side = client
        .execute(
            "return document.getElementById('pad').getBoundingClientRect().width;",
            vec![],
        )
        .await
        .expect("pad size")
        .as_f64()
        .expect("a width");
    (pad, side)
}

/// The page's element with this `id`.
async fn element(client: &Client, id: &str) -> Element {
    client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
}

/// Clicks the page's element with this `id`.
async fn click(client: &Client, id: &str) {
    let clicked = element(client, id).await.click().await;
    clicked.unwrap_or_else(|e| panic!("click #{id}: {e}"));
}

/// The text of the page's element with this `id`.
async fn text_of(client: &Client, id: &str) -> String {
    let text = element(client, id).await.text().await;
    text.unwrap_or_else(|e| panic!("text of #{id}: {e}"))
}

async fn wait_empty(client: &Client) {
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    loop {
        let (status, strokes, digit, _) = page_state(client).await;
        if status == "empty" && strokes == 0 && digit == "–" {
            return;
        }
        assert!(Instant::now() < deadline, "the pad did not clear");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first test image of each class.
fn first_of(test: &Dataset, class: u8) -> (usize, &[u8]) {
    let index = test
        .labels
        .iter()
        .position(|&l| l == class)
        .expect("every class is in the test split");
    (index, test.image(index))
}

/// A grey PNG of an MNIST digit as a photo of it would look: dark ink on white, 10× larger.
fn digit_png(path: &Path, image: &[u8]) {
    const SCALE: usize = 10;
    let side = SIDE * SCALE;
    let pixels: Vec<u8> = (0..side * side)
        .map(|i| 255 - image[(i / side / SCALE) * SIDE + (i % side) / SCALE])
        .collect();
    let file = std::fs::File::create(path).expect("create picture");
    let mut encoder = png::Encoder::new(file, side as u32, side as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("header");
    writer.write_image_data(&pixels).expect("pixels");
    writer.finish().expect("finish");
}

/// chromedriver and the real MNIST (its test split read), or `None` after saying which is
/// missing (a failure under MNIST_GPU_REQUIRE_BROWSER=1).
fn browser_and_mnist() -> Option<(PathBuf, PathBuf, Dataset)> {
    let Some(driver) = on_path("chromedriver") else {
        missing("chromedriver is not installed", CHROMIUM_INSTALL);
        return None;
    };
    let Some(data) = std::env::var_os("MNIST_GPU_DATA").map(PathBuf::from) else {
        missing(
            "MNIST_GPU_DATA does not point at the real MNIST",
            "mnist-gpu download, then set MNIST_GPU_DATA to its folder",
        );
        return None;
    };
    match load_split(&data, Split::Test) {
        Ok(test) => Some((driver, data, test)),
        Err(e) => {
            missing(
                &format!("the MNIST test split cannot be read: {e}"),
                "point MNIST_GPU_DATA at a folder holding the four MNIST files",
            );
            None
        }
    }
}

#[test]
fn chromium_draws_mnist_digits_and_reads_the_answers() {
    let Some((driver, data, test)) = browser_and_mnist() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, url) = start_server(&data, &dir.path().join("m.safetensors"));
    let (_driver, webdriver) = start_chromedriver(&driver);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,1200",
                     "--hide-scrollbars"]
        });
        if let Some(chromium) = on_path("chromium") {
            options["binary"] = Value::from(chromium.display().to_string());
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(capabilities)
        .connect(&webdriver)
        .await
        .expect("start Chromium through chromedriver");

        client.goto(&url).await.expect("open the page");
        let (pad, side) = pad(&client).await;
        assert!(side >= 200.0, "the pad is {side} px wide");
        // The model card shows the network.
        let card = client
            .wait()
            .for_element(Locator::XPath("//dl[@id='model-card']/dd[1][contains(., '784')]"))
            .await
            .expect("the model card");
        assert!(card.text().await.expect("card text").contains("784"));
        // Without WebGPU (this browser runs with --disable-gpu) the training panel says so in
        // one line, and the pad is read by the server.
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        while training_state(&client).await["state"] != "unsupported" {
            assert!(Instant::now() < deadline, "the panel did not report the missing WebGPU");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let line = text_of(&client, "train-status").await;
        assert!(line.contains("no WebGPU adapter"), "{line}");

        // Three digits of different classes, each drawn with another pointer device.
        let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-page.png");
        for (n, (class, device)) in [(2u8, Device::Mouse), (3, Device::Pen), (7, Device::Touch)]
            .into_iter()
            .enumerate()
        {
            let (index, image) = first_of(&test, class);
            let strokes = draw(&client, &pad, side, image, device).await;
            let shown = answer(&client, strokes).await;
            let status = text_of(&client, "status").await;
            println!(
                "test image {index} (a {class}), {strokes} strokes drawn with a {device:?}: the page shows {shown} ({status})"
            );
            if shown != class.to_string() {
                let failed = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-failure.png");
                if let Ok(png) = client.screenshot().await {
                    let _ = std::fs::write(&failed, png);
                }
                panic!(
                    "test image {index} (a {class}) drawn with a {device:?}: the page shows {shown} (screenshot: {})",
                    failed.display()
                );
            }
            match n {
                // Clear with the Escape key…
                0 => {
                    press_escape(&client).await;
                    wait_empty(&client).await;
                }
                // …and with the button.
                1 => {
                    click(&client, "clear").await;
                    wait_empty(&client).await;
                }
                // The last drawing stays for the screenshot, then loses its last stroke.
                _ => {
                    // Let the bars finish their 0.12 s transition before the picture is taken.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let png = client.screenshot().await.expect("screenshot");
                    let decoded = png::Decoder::new(std::io::Cursor::new(&png))
                        .read_info()
                        .expect("the screenshot is a PNG");
                    assert!(decoded.info().width >= 1000, "screenshot width");
                    std::fs::write(&screenshot, &png).expect("save the screenshot");
                    if let Some(copy) = std::env::var_os("MNIST_GPU_SCREENSHOT") {
                        std::fs::write(copy, &png).expect("save the screenshot copy");
                    }
                    println!("screenshot: {}", screenshot.display());
                    click(&client, "undo").await;
                    if strokes > 1 {
                        answer(&client, strokes - 1).await;
                    } else {
                        wait_empty(&client).await;
                    }
                }
            }
        }

        // A dot is too little ink to read: the page says so instead of naming a digit.
        let dot = stroke_actions(&pad, side, &[(14, 14)]);
        let dot = dot
            .into_iter()
            .fold(MouseActions::new("dot".into()), |s, a| s.then(a));
        client.perform_actions(dot).await.expect("a dot");
        client.release_actions().await.expect("release");
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let (status, _, digit, _) = page_state(&client).await;
            if status == "too-little" {
                assert_eq!(digit, "–", "a dot names no digit");
                break;
            }
            assert!(Instant::now() < deadline, "a dot: status {status}, digit {digit}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // A digit cleared the moment its last stroke ends stays cleared: no late answer.
        let (_, image) = first_of(&test, 1);
        draw(&client, &pad, side, image, Device::Mouse).await;
        press_escape(&client).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (status, strokes, digit, _) = page_state(&client).await;
        assert_eq!((status.as_str(), strokes, digit.as_str()), ("empty", 0, "–"));
        // The note under the model card says how this model's probabilities are made.
        let note = text_of(&client, "probabilities-note").await;
        assert_eq!(note, "Probabilities: the sigmoid outputs divided by their sum.");

        // A picture file chosen with the file input is classified too.
        let (index, image) = first_of(&test, 4);
        let picture = dir.path().join("four.png");
        digit_png(&picture, image);
        client
            .find(Locator::Id("file"))
            .await
            .expect("file input")
            .send_keys(&picture.display().to_string())
            .await
            .expect("choose the picture");
        let shown = answer(&client, 0).await;
        println!("test image {index} (a 4) chosen as a picture file: the page shows {shown}");
        assert_eq!(shown, "4");

        // A picture dropped on the pad: the page's drop handler gets a real File, as from a
        // file manager (WebDriver cannot drag files, so the drop event is dispatched in the page).
        let (index, image) = first_of(&test, 0);
        let dropped = dir.path().join("zero.png");
        digit_png(&dropped, image);
        let bytes: Vec<Value> = std::fs::read(&dropped)
            .expect("read the picture")
            .into_iter()
            .map(Value::from)
            .collect();
        client
            .execute(
                "const file = new File([new Uint8Array(arguments[0])], 'zero.png', {type: 'image/png'});
                 const data = new DataTransfer();
                 data.items.add(file);
                 const zone = document.getElementById('drop-zone');
                 zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
                 zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));",
                vec![Value::Array(bytes)],
            )
            .await
            .expect("drop the picture");
        let shown = answer(&client, 0).await;
        println!("test image {index} (a 0) dropped on the pad: the page shows {shown}");
        assert_eq!(shown, "0");

        // On a phone-sized window the page fits its width, one column, with a wide pad.
        client.set_window_size(400, 860).await.expect("resize");
        let layout = client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth,
                         document.getElementById('pad').getBoundingClientRect().width,
                         document.querySelector('.result').getBoundingClientRect().top,
                         document.querySelector('.draw').getBoundingClientRect().bottom];",
                vec![],
            )
            .await
            .expect("layout");
        let number = |i: usize| layout[i].as_f64().expect("a number");
        let (scroll, inner, pad_width) = (number(0), number(1), number(2));
        if scroll > inner {
            let wide = client
                .execute(
                    "return [...document.querySelectorAll('body *')]
                       .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
                       .map((e) => e.tagName + '#' + e.id + '.' + e.className).join(' ');",
                    vec![],
                )
                .await
                .expect("wide elements");
            panic!("the page is {scroll} px wide in a {inner} px window: {wide}");
        }
        assert!(pad_width >= 0.75 * inner, "the pad is {pad_width} px of {inner}");
        assert!(number(3) >= number(4), "the answer sits below the pad on a phone");
        let phone = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-phone.png");
        std::fs::write(&phone, client.screenshot().await.expect("screenshot")).expect("save");
        println!("phone-sized screenshot: {}", phone.display());
        client.close().await.expect("close the browser");
    });
}

#[test]
fn tracing_keeps_every_skeleton_pixel_and_joins_branches() {
    // A "T": a bar and a stem meeting in the middle.
    let mut image = vec![0u8; SIDE * SIDE];
    for x in 6..22 {
        for y in 5..8 {
            image[y * SIDE + x] = 255;
        }
    }
    for y in 8..23 {
        for x in 13..16 {
            image[y * SIDE + x] = 255;
        }
    }
    let strokes = strokes_of(&image);
    assert!((1..=3).contains(&strokes.len()), "{strokes:?}");
    for stroke in &strokes {
        for pair in stroke.windows(2) {
            let dx = pair[0].0.abs_diff(pair[1].0);
            let dy = pair[0].1.abs_diff(pair[1].1);
            assert!(dx <= 1 && dy <= 1, "a stroke jumps: {pair:?}");
        }
    }
    // The skeleton spans the bar and the stem.
    let xs: Vec<usize> = strokes.iter().flatten().map(|p| p.0).collect();
    let ys: Vec<usize> = strokes.iter().flatten().map(|p| p.1).collect();
    assert!(xs.iter().min() <= Some(&8) && xs.iter().max() >= Some(&19));
    assert!(ys.iter().max() >= Some(&20));
}

/// Training images the in-tab run uses, and its rounds: a subset keeps SwiftShader's rounds
/// to seconds.
const TAB_IMAGES: usize = 5000;
const TAB_ROUNDS: usize = 2;
/// How long the page may take to load, train and evaluate on SwiftShader.
const TAB_TIMEOUT: Duration = Duration::from_secs(600);

/// The in-tab runs take the machine's cores (SwiftShader): one at a time.
static WEBGPU: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Chromium with WebGPU on SwiftShader (or the machine's GPU), through chromedriver.
async fn webgpu_client(webdriver: &str) -> Client {
    let mut options = json!({
        "args": ["--headless=new", "--no-sandbox", "--enable-unsafe-webgpu",
                 "--use-webgpu-adapter=swiftshader", "--window-size=1100,2400",
                 "--hide-scrollbars"]
    });
    if let Some(chromium) = on_path("chromium") {
        options["binary"] = Value::from(chromium.display().to_string());
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(webdriver)
        .await
        .expect("start Chromium through chromedriver")
}

/// Runs `drive` on Chromium with WebGPU, started through chromedriver at `driver`.
fn with_webgpu_browser(driver: &Path, drive: impl AsyncFnOnce(Client)) {
    let (_driver, webdriver) = start_chromedriver(driver);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = webgpu_client(&webdriver).await;
        drive(client).await;
    });
}

/// The web build `tools/build-web` writes (or `MNIST_GPU_WEB`), if it is there.
fn web_build() -> Option<PathBuf> {
    let web = std::env::var_os("MNIST_GPU_WEB")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/web"));
    if web.join("mnist_gpu_web_bg.wasm").is_file() {
        Some(web)
    } else {
        missing(
            &format!("the in-browser trainer is not built in {}", web.display()),
            "run tools/build-web",
        );
        None
    }
}

/// The page's recorded state (`window.mnistTraining`).
async fn training_state(client: &Client) -> Value {
    client
        .execute("return window.mnistTraining;", vec![])
        .await
        .expect("read window.mnistTraining")
}

/// Waits until the panel leaves `busy` states; fails on an error the page shows.
async fn wait_training(client: &Client, busy: &[&str]) -> Value {
    let deadline = Instant::now() + TAB_TIMEOUT;
    loop {
        let state = training_state(client).await;
        let now = state["state"].as_str().unwrap_or("").to_string();
        assert!(now != "error", "the page failed: {}", state["error"]);
        if !busy.contains(&now.as_str()) {
            return state;
        }
        assert!(Instant::now() < deadline, "the page is still {now}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Opens the page at `url` (a run chosen by its address) and waits until it has trained;
/// returns its recorded state.
async fn train_in_tab(client: &Client, url: &str) -> Value {
    client.goto(url).await.expect("open the page");
    let state = wait_training(client, &["idle", "loading", "training"]).await;
    assert_eq!(state["state"], "done", "{state}");
    state
}

/// Colours in an element's screenshot, and how many of its pixels are reddish, bluish and
/// orange (the weight maps' and the activations' colour maps).
async fn screenshot_colours(element: &Element) -> (usize, usize, usize, usize) {
    let png = element.screenshot().await.expect("element screenshot");
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .expect("a PNG");
    let mut pixels = vec![0; decoder.output_buffer_size().expect("size")];
    let info = decoder.next_frame(&mut pixels).expect("pixels");
    let channels = info.color_type.samples();
    let mut colours = std::collections::HashSet::new();
    let (mut red, mut blue, mut orange) = (0, 0, 0);
    for px in pixels[..info.buffer_size()].chunks(channels) {
        let (r, g, b) = (px[0], px[1], px[2]);
        colours.insert((r, g, b));
        if r > 200 && g < 150 && b < 150 {
            red += 1;
        }
        if b > 200 && r < 150 && g < 150 {
            blue += 1;
        }
        if r > 150 && g < 160 && b < 60 {
            orange += 1;
        }
    }
    (colours.len(), red, blue, orange)
}

/// The fast recipe as `train --cpu --preset fast` runs it on the first TAB_IMAGES training
/// images: its rounds' records.
fn native_fast_rounds(data: &Path) -> Vec<mnist_gpu::train::RoundRecord> {
    use mnist_gpu::engine::cpu::CpuEngine;
    use mnist_gpu::preset::PresetName;
    use mnist_gpu::train::{Schedule, train};
    let mut mnist = mnist_gpu::data::Mnist::load(data).expect("MNIST");
    mnist.train = mnist.train.truncated(TAB_IMAGES);
    let preset = PresetName::Fast.preset();
    let net = preset.network(42).expect("network");
    net.preprocess.apply_to_data(&mut mnist);
    let recipe = preset.recipe(42, TAB_ROUNDS).expect("recipe");
    let mut engine = CpuEngine::with_recipe(net, &mnist, recipe, None).expect("CPU engine");
    let schedule = Schedule {
        rounds: TAB_ROUNDS,
        first_round: 1,
        eval_every: 1,
        shuffle: preset.shuffle,
        seed: 42,
        target_accuracy: None,
    };
    train(
        &mut engine,
        &schedule,
        mnist.train.len(),
        mnist.test.len(),
        &mut |_| Ok(()),
    )
    .expect("train")
}

/// The page trains the fast recipe in the tab on WebGPU (SwiftShader here): its costs match
/// the native `--cpu` engine's on the same images, its downloaded model evaluates from the
/// command line to the accuracy it showed, a digit drawn with pointer actions is read in the
/// tab exactly as that model reads it, the weight maps and activations are drawn, and the
/// page's benchmark reports every product and both rounds.
#[test]
fn chromium_trains_in_the_tab_on_webgpu() {
    let Some((driver, data, test)) = browser_and_mnist() else {
        return;
    };
    let Some(web) = web_build() else {
        return;
    };
    let _one_at_a_time = WEBGPU.lock();
    let native = native_fast_rounds(&data);

    let mut serve = Command::new(env!("CARGO_BIN_EXE_mnist-gpu"));
    serve
        .args(["serve", "--port", "0", "--cpu", "--offline", "--data"])
        .arg(&data)
        .arg("--web")
        .arg(&web);
    let (_server, url, printed) = spawn_server(serve);
    let shared = printed
        .iter()
        .find(|line| line.starts_with("in-browser training:"))
        .expect("the server says what the trainer can fetch");
    assert!(shared.contains("with the data in"), "{shared}");
    let dir = tempfile::tempdir().expect("tempdir");
    with_webgpu_browser(&driver, async |client| {
        let started = Instant::now();
        let state = train_in_tab(
            &client,
            &format!(
                "{url}?preset=fast&images={TAB_IMAGES}&rounds={TAB_ROUNDS}&seed=42&bench-images=3000&autostart"
            ),
        )
        .await;
        println!(
            "trained in the tab in {:.1} s on {}",
            started.elapsed().as_secs_f64(),
            state["engine"]
        );
        let records = state["records"].as_array().expect("records");
        assert_eq!(records.len(), TAB_ROUNDS, "{state}");
        for (page, cpu) in records.iter().zip(&native) {
            let cost = page["cost"].as_f64().expect("cost");
            let accuracy = page["test_accuracy"].as_f64().expect("accuracy");
            println!(
                "round {}: page cost {cost:.6}, {accuracy:.2}%, {:.2} s; --cpu cost {:.6}, {:.2}%",
                page["round"],
                page["seconds"].as_f64().unwrap_or(0.0),
                cpu.cost,
                cpu.test_accuracy.unwrap_or(0.0)
            );
            assert_eq!(page["images"], TAB_IMAGES);
            // The native GPU tests' promise: f32 sums in other orders, ~1e-6 per step
            // compounded over 80 Adam steps stay far below 1e-4 relative.
            let relative = (cost - cpu.cost).abs() / cpu.cost;
            assert!(
                relative <= 1e-4,
                "round {}: cost {cost} vs --cpu {}",
                page["round"],
                cpu.cost
            );
            // Nearly identical weights may still split a borderline image: 0.05 points is
            // 5 of the 10,000 test images.
            let cpu_accuracy = cpu.test_accuracy.expect("evaluated");
            assert!(
                (accuracy - cpu_accuracy).abs() <= 0.05,
                "{accuracy} vs --cpu {cpu_accuracy}"
            );
        }
        let shown = records.last().expect("a round")["test_accuracy"]
            .as_f64()
            .expect("accuracy");
        assert!(shown > 90.0, "the tab's model reaches {shown}%");
        check_trained_page(&client, &state, "784 → 200 → 10").await;

        // The downloaded model, evaluated by the command line, gives the accuracy shown.
        let bytes = fetch_bytes(&client, "window.mnistTraining.model").await;
        let path = dir.path().join("browser.safetensors");
        std::fs::write(&path, &bytes).expect("save the model");
        let eval = Command::new(env!("CARGO_BIN_EXE_mnist-gpu"))
            .args(["eval", "--cpu", "--offline", "--model"])
            .arg(&path)
            .arg("--data")
            .arg(&data)
            .output()
            .expect("run mnist-gpu eval");
        let out = String::from_utf8_lossy(&eval.stdout);
        assert!(
            eval.status.success(),
            "{out}{}",
            String::from_utf8_lossy(&eval.stderr)
        );
        println!("eval of the downloaded model: {out}");
        let percent = format!("{shown:.2}%");
        assert!(
            out.contains(&percent),
            "the page showed {percent}; eval says: {out}"
        );

        // A drawn digit is read in the tab, exactly as the downloaded model reads its input.
        let saved = mnist_gpu::model_file::load(&path).expect("load the downloaded model");
        // "Download ONNX" offers what `mnist-gpu export` writes for that model, byte for byte
        // (tests/onnx.rs runs those files in ONNX Runtime).
        let onnx = fetch_bytes(
            &client,
            "document.getElementById('train-download-onnx').href",
        )
        .await;
        let exported =
            mnist_gpu::export::onnx::to_onnx_bytes(&saved).expect("export the downloaded model");
        assert!(
            onnx == exported,
            "the page's ONNX file ({} bytes) differs from the export of its model ({} bytes)",
            onnx.len(),
            exported.len()
        );
        println!(
            "the page's ONNX file: {} bytes, as `export` writes",
            onnx.len()
        );
        let (pad, side) = pad(&client).await;
        let (index, image) = first_of(&test, 3);
        let strokes = draw(&client, &pad, side, image, Device::Mouse).await;
        let digit = answer(&client, strokes).await;
        let source = client
            .execute(
                "return document.getElementById('prediction').dataset.source;",
                vec![],
            )
            .await
            .expect("source");
        assert_eq!(source, "tab", "the drawing was not read in the tab");
        let reading = training_state(&client).await["lastReading"].clone();
        let input: Vec<f32> = reading["input"]
            .as_array()
            .expect("input rows")
            .iter()
            .flat_map(|row| row.as_array().expect("a row").clone())
            .map(|v| v.as_f64().expect("a value") as f32)
            .collect();
        assert_eq!(input.len(), 784);
        let outputs = saved.network.forward(&input);
        let expected = mnist_gpu::model::argmax(&outputs);
        println!("test image {index} (a 3) drawn in {strokes} strokes: the tab reads {digit}");
        assert_eq!(
            digit,
            expected.to_string(),
            "the tab and the model disagree"
        );
        for (page, model) in reading["outputs"]
            .as_array()
            .expect("outputs")
            .iter()
            .zip(&outputs)
        {
            let page = page.as_f64().expect("an output") as f32;
            assert!(
                (page - model).abs() <= 1e-5,
                "output {page} vs the model's {model}"
            );
        }
        let load_to_prediction = client
            .execute("return window.mnistTraining.firstPrediction;", vec![])
            .await
            .expect("first prediction")
            .as_f64()
            .expect("a time");
        println!(
            "page load to the first in-tab prediction: {:.1} s",
            load_to_prediction / 1e3
        );

        // The weight maps and the activations are drawn: diverging red and blue maps, orange
        // active units.
        let weights = element(&client, "train-weights").await;
        let (colours, red, blue, _) = screenshot_colours(&weights).await;
        println!("weight maps: {colours} colours, {red} red and {blue} blue pixels");
        assert!(
            colours > 200 && red > 1000 && blue > 1000,
            "the weight maps look empty"
        );
        let activations = element(&client, "train-activations").await;
        let (colours, _, _, orange) = screenshot_colours(&activations).await;
        println!("activations: {colours} colours, {orange} orange pixels");
        assert!(colours > 20 && orange > 100, "the activations look empty");
        let png = client.screenshot().await.expect("screenshot");
        let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("page-trained.png");
        std::fs::write(&shot, &png).expect("save the screenshot");
        println!("screenshot: {}", shot.display());
        check_widths(&client).await;

        // The benchmark: every product timed, a round at batch 1000 and at full batch.
        click(&client, "bench-run").await;
        let state = wait_training(&client, &["benchmarking"]).await;
        let bench = &state["bench"]["json"];
        println!("{}", state["bench"]["text"].as_str().unwrap_or(""));
        let products = bench["products"].as_array().expect("products");
        assert_eq!(products.len(), 5, "{bench}");
        assert!(
            products.iter().all(|p| p["seconds"].as_f64() > Some(0.0)),
            "{bench}"
        );
        let rounds = bench["rounds"].as_array().expect("rounds");
        let batches: Vec<_> = rounds.iter().map(|r| r["batch"].as_u64()).collect();
        assert_eq!(batches, [Some(1000), Some(3000)], "{bench}");
        // The chosen recipe's shape is timed; "driver" is said only with a driver's name.
        assert_eq!(bench["network"], json!([784, 200, 10]), "{bench}");
        let text = state["bench"]["text"].as_str().unwrap_or("");
        let named = bench["driver"].as_str().is_some_and(|d| !d.is_empty())
            || bench["driver_info"].as_str().is_some_and(|d| !d.is_empty());
        assert_eq!(text.contains("driver"), named, "{text}");
        assert!(
            text.contains("(1 batch)") && !text.contains(" 1 batches"),
            "{text}"
        );
        client.close().await.expect("close the browser");
    });
}

/// `tools/build-web --static DIR` writes a site that trains from any static web server (here
/// Python's), with no `mnist-gpu` process behind it.
#[test]
fn the_static_site_trains_without_a_server() {
    let Some((driver, data, test)) = browser_and_mnist() else {
        return;
    };
    let Some(python) = on_path("python3") else {
        return missing(
            "python3 is not installed (it serves the static site)",
            "apt-get install python3",
        );
    };
    if web_build().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let site = dir.path().join("site");
    let built = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/build-web"))
        .arg("--static")
        .arg(&site)
        .arg("--data")
        .arg(&data)
        .output()
        .expect("run tools/build-web");
    assert!(
        built.status.success(),
        "{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    for file in [
        "index.html",
        "app.js",
        "train.js",
        "style.css",
        "pkg/mnist_gpu_web_bg.wasm",
    ] {
        assert!(site.join(file).is_file(), "the site has no {file}");
    }
    // A folder holding something else is refused, and left as it was.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).expect("mkdir");
    std::fs::write(other.join("notes.txt"), "mine").expect("write");
    let refused = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/build-web"))
        .arg("--static")
        .arg(&other)
        .arg("--data")
        .arg(&data)
        .output()
        .expect("run tools/build-web");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not empty"));
    assert_eq!(std::fs::read_dir(&other).expect("list").count(), 1);

    let _one_at_a_time = WEBGPU.lock();
    let port = chromium::free_port();
    let _server = Process(
        Command::new(python)
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
                "--directory",
            ])
            .arg(&site)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m http.server"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the static server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    with_webgpu_browser(&driver, async |client| {
        // Before any training there is no model: the card and the pad say what to do, and a
        // drawing gets no error (the static host answers the page's API with HTML pages).
        client
            .goto(&format!("http://127.0.0.1:{port}/?rounds=1"))
            .await
            .expect("open the site");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !text_of(&client, "model-card")
            .await
            .contains("No model yet")
        {
            assert!(
                Instant::now() < deadline,
                "the card says: {}",
                text_of(&client, "model-card").await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (pad, side) = pad(&client).await;
        let (_, image) = first_of(&test, 7);
        draw(&client, &pad, side, image, Device::Mouse).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = text_of(&client, "status").await;
            assert!(!status.contains("JSON"), "{status}");
            if status.contains("No model yet: train one below, then draw") {
                break;
            }
            assert!(Instant::now() < deadline, "the pad says: {status}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The address's rounds show in the menu.
        let menu = client
            .execute(
                "const s = document.getElementById('train-preset'); return s.options[s.selectedIndex].textContent;",
                vec![],
            )
            .await
            .expect("menu");
        assert!(
            menu.as_str().is_some_and(|m| m.ends_with(" 1 round")),
            "{menu}"
        );

        let state = train_in_tab(
            &client,
            &format!("http://127.0.0.1:{port}/?preset=fast&images=2000&rounds=1&autostart"),
        )
        .await;
        let records = state["records"].as_array().expect("records");
        assert_eq!(records.len(), 1, "{state}");
        println!("static site: round 1 {}", records[0]);
        assert_eq!(records[0]["images"], 2000);
        assert!(records[0]["test_accuracy"].as_f64() > Some(50.0), "{state}");
        check_trained_page(&client, &state, "784 → 200 → 10").await;
        let status = text_of(&client, "train-status").await;
        assert!(status.contains("after 1 round."), "{status}");
        client.close().await.expect("close the browser");
    });
}

/// What a page that has trained shows: the card describes the tab's model, the accuracy axis
/// holds every round, the disabled Stop button looks disabled, and no "1 rounds".
async fn check_trained_page(client: &Client, state: &Value, layers: &str) {
    let card = text_of(client, "model-card").await;
    let last = state["records"]
        .as_array()
        .expect("records")
        .last()
        .expect("a round")
        .clone();
    let accuracy = format!("{:.2}%", last["test_accuracy"].as_f64().expect("accuracy"));
    for part in [layers, "this browser: ", "relu", &accuracy, "fast"] {
        assert!(card.contains(part), "the card lacks {part}: {card}");
    }
    let rounds = last["round"].as_u64().expect("round");
    assert!(
        card.contains(&format!("rounds\n{rounds}")) || card.contains(&format!("rounds {rounds}")),
        "{card}"
    );
    let scale = &state["accuracyScale"];
    let (bottom, top) = (
        scale[0].as_f64().expect("bottom"),
        scale[1].as_f64().expect("top"),
    );
    for r in state["records"].as_array().expect("records") {
        let a = r["test_accuracy"].as_f64().expect("accuracy");
        assert!(
            bottom <= a && a <= top,
            "{a}% outside the axis {bottom}–{top}%"
        );
    }
    let look = client
        .execute(
            "const s = getComputedStyle(document.getElementById('train-stop'));
             return [document.getElementById('train-stop').disabled, s.cursor, Number(s.opacity)];",
            vec![],
        )
        .await
        .expect("style");
    assert_eq!(look[0], true, "Stop is enabled after training");
    assert_eq!(look[1], "not-allowed", "{look}");
    assert!(look[2].as_f64() < Some(0.8), "{look}");
    let page = client
        .execute("return document.body.innerText;", vec![])
        .await
        .expect("text");
    assert!(!page.as_str().unwrap_or("").contains(" 1 rounds"), "{page}");
}

/// At 420 and 1300 px wide the page fits, its charts' labels are shown at least 11 px tall
/// (the curve's 12 px text at no less than its size; the weight maps' 14 px captions at no
/// less than 0.8; the activations' 7 px capitals at twice their size), and screenshots are
/// saved.
async fn check_widths(client: &Client) {
    for width in [420u32, 1300] {
        client.set_window_size(width, 2400).await.expect("resize");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let scales = client
            .execute(
                "const shown = (id) => { const c = document.getElementById(id);
                   return c.getBoundingClientRect().width / c.width; };
                 return [document.documentElement.scrollWidth, window.innerWidth,
                         shown('train-curve') * devicePixelRatio, shown('train-weights'),
                         shown('train-activations')];",
                vec![],
            )
            .await
            .expect("layout");
        let number = |i: usize| scales[i].as_f64().expect("a number");
        println!(
            "{width} px: page {} of {} px; curve, weight maps, activations shown at {:.2}, {:.2}, {:.2}",
            number(0),
            number(1),
            number(2),
            number(3),
            number(4)
        );
        assert!(
            number(0) <= number(1),
            "the page is wider than the window at {width} px"
        );
        assert!(number(2) >= 0.99, "the curve is shrunk at {width} px");
        assert!(
            number(3) >= 0.8,
            "the weight maps are shrunk to {} at {width} px",
            number(3)
        );
        assert!(
            number(4) >= 1.99,
            "the activations are shown at {} at {width} px",
            number(4)
        );
        let png = client.screenshot().await.expect("screenshot");
        let shot =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("page-trained-{width}.png"));
        std::fs::write(&shot, &png).expect("save the screenshot");
        println!("screenshot: {}", shot.display());
    }
    client.set_window_size(1100, 2400).await.expect("resize");
}

/// The bytes at the URL that `url` (a JavaScript expression) names, fetched in the page.
async fn fetch_bytes(client: &Client, url: &str) -> Vec<u8> {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         fetch({url}).then((r) => r.arrayBuffer()).then((b) => {{
           const bytes = new Uint8Array(b);
           let text = '';
           for (let i = 0; i < bytes.length; i += 0x8000)
             text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
           done(btoa(text));
         }}).catch((e) => done(`failed: ${{e}}`));"
    );
    let encoded = client
        .execute_async(&script, vec![])
        .await
        .unwrap_or_else(|e| panic!("fetch {url} in the page: {e}"));
    let encoded = encoded.as_str().expect("base64 text");
    assert!(!encoded.starts_with("failed"), "fetch {url}: {encoded}");
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64")
}

/// Without a web build the page still loads its trainer panel, which says the trainer is not
/// built and disables Train (a static import of the missing module used to stop the panel at
/// "Checking for WebGPU…" with a Train button that did nothing).
#[test]
fn without_a_web_build_the_panel_says_so_and_train_is_disabled() {
    let Some(driver) = on_path("chromedriver") else {
        missing("chromedriver is not installed", CHROMIUM_INSTALL);
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("m.safetensors");
    let saved = mnist_gpu::model_file::SavedModel {
        network: mnist_gpu::model::Network::new(&[24], 5).expect("network"),
        training: mnist_gpu::model_file::TrainingInfo::tutorial(1, 20, 0.5, 9),
        optimizer_state: Default::default(),
    };
    mnist_gpu::model_file::save(&model, &saved).expect("save");
    let empty = dir.path().join("no-build");
    std::fs::create_dir(&empty).expect("mkdir");
    let mut serve = Command::new(env!("CARGO_BIN_EXE_mnist-gpu"));
    serve
        .args(["serve", "--port", "0", "--cpu", "--model"])
        .arg(&model)
        .arg("--web")
        .arg(&empty);
    let (_server, url, _) = spawn_server(serve);
    with_webgpu_browser(&driver, async |client| {
        client.goto(&url).await.expect("open the page");
        let deadline = Instant::now() + Duration::from_secs(30);
        let state = loop {
            let state = training_state(&client).await;
            if state["state"] != "idle" && !state["state"].is_null() {
                break state;
            }
            assert!(Instant::now() < deadline, "the panel never left {state}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(state["state"], "unbuilt", "{state}");
        let said = text_of(&client, "train-status").await;
        assert!(said.contains("not built: run tools/build-web"), "{said}");
        let start = element(&client, "train-start").await;
        assert_eq!(
            start.prop("disabled").await.expect("disabled").as_deref(),
            Some("true")
        );
        client.close().await.expect("close");
    });
}
