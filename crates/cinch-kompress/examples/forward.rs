//! One backend, one process: load a model, time forward passes over 512 tokens, print the
//! timings and the process's peak resident memory. Run once per backend, so that each peak
//! is its own:
//!
//! ```text
//! cargo run --release -p cinch-kompress --example forward -- candle-f32 target/kompress-bench
//! cargo run --release -p cinch-kompress --example forward -- candle-int8 target/kompress-bench
//! ORT_DYLIB_PATH=… cargo run --release -p cinch-kompress --features onnx --example forward -- \
//!     ort target/kompress-bench/model.int8.onnx
//! ```
//!
//! The model directory comes from `tools/make_bench_model.py` (ModernBERT-base size, random
//! weights).

use cinch_kompress::{Model, Precision, TokenScorer};
use std::path::Path;
use std::time::Instant;

#[path = "../benches/support/ids.rs"]
mod ids;
use ids::bench_ids;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn load(backend: &str, path: &Path) -> Box<dyn TokenScorer> {
    match backend {
        "candle-f32" => Box::new(Model::load(path, Precision::F32).expect("model loads")),
        "candle-int8" => Box::new(Model::load(path, Precision::Int8).expect("model loads")),
        "fast-int8" => Box::new(Model::load(path, Precision::FastInt8).expect("model loads")),
        #[cfg(feature = "onnx")]
        "ort" => {
            let lib =
                std::env::var_os("ORT_DYLIB_PATH").expect("ORT_DYLIB_PATH names libonnxruntime");
            let dir = path.parent().expect("the .onnx file's directory");
            Box::new(
                cinch_kompress::onnx::OnnxModel::load_file(dir, path, Path::new(&lib), 2)
                    .expect("model loads"),
            )
        }
        other => {
            panic!("unknown backend {other} (candle-f32, candle-int8, fast-int8, ort with --features onnx)")
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (backend, path) = match args.as_slice() {
        [_, b, p, ..] => (b.as_str(), Path::new(p)),
        _ => panic!("usage: forward BACKEND PATH [RUNS]"),
    };
    let runs: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(5);
    let started = Instant::now();
    let model = load(backend, path);
    let load_s = started.elapsed().as_secs_f64();
    let ids = bench_ids(50368, 512);
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let scores = model.keep_scores(&ids).expect("forward runs");
        assert_eq!(scores.len(), ids.len());
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{backend}: load {load_s:.2} s, 512 tokens: min {:.3} s, median {:.3} s over {runs}, peak RSS {:.0} MB",
        times[0],
        times[runs / 2],
        peak_rss_mb()
    );
}
