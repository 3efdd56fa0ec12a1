//! Headless Chromium for the HTML report's tests: the page as a person's
//! browser shows it (a screenshot), and the DOM after the page's script ran.
#![allow(dead_code)] // each test binary uses a different part
#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// `Some(path)` when Chromium is installed; `None` (the test then passes with
/// a note) only when SSLAUDIT_REQUIRE_CHROMIUM is unset.
pub fn chromium() -> Option<&'static Path> {
    let path = Path::new(CHROMIUM);
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("SSLAUDIT_REQUIRE_CHROMIUM").is_some() {
        panic!("SSLAUDIT_REQUIRE_CHROMIUM is set but {CHROMIUM} does not exist");
    }
    eprintln!(
        "skipped: {CHROMIUM} not found (apt-get install chromium; CI sets \
         SSLAUDIT_REQUIRE_CHROMIUM=1 so this cannot be skipped there)"
    );
    None
}

/// Runs headless Chromium on `url` with `extra` arguments, stdout to a file,
/// killing it after a minute; returns stdout.
pub fn run_chromium(chromium: &Path, profile: &Path, extra: &[String], url: &str) -> String {
    let out_path = profile.with_extension("stdout");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::read_to_string(&out_path).unwrap()
}

pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

pub fn write_page(dir: &Path, name: &str, html: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, html).unwrap();
    path
}

/// The RGB pixels of a PNG screenshot, with its width and height.
pub fn pixels(png_bytes: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let channels = info.color_type.samples();
    let px = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, px)
}
