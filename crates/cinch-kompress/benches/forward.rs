//! One forward pass of a ModernBERT-base-sized Kompress model (random weights, 512 tokens),
//! on every backend side by side in one run: candle f32, candle with int8 weights, and with
//! `--features onnx` ONNX Runtime on the fp32 and dynamic-int8 exports.
//!
//! The model comes from `tools/make_bench_model.py` (default `target/kompress-bench`, or
//! `CINCH_KOMPRESS_BENCH_DIR`); ONNX Runtime from `ORT_DYLIB_PATH`. Without the model the
//! benchmark says how to make it and measures nothing. Peak memory per backend: the `forward`
//! example, one process per backend.

use cinch_kompress::{Model, Precision, TokenScorer};
use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use std::time::Duration;

#[path = "support/ids.rs"]
mod ids;
use ids::bench_ids;

fn bench_dir() -> PathBuf {
    std::env::var_os("CINCH_KOMPRESS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/kompress-bench")
        })
}

fn backends(dir: &std::path::Path) -> Vec<(&'static str, Box<dyn TokenScorer>)> {
    #[cfg_attr(not(feature = "onnx"), allow(unused_mut))]
    let mut out: Vec<(&'static str, Box<dyn TokenScorer>)> = vec![
        (
            "candle_f32",
            Box::new(Model::load(dir, Precision::F32).expect("model loads")),
        ),
        (
            "candle_int8",
            Box::new(Model::load(dir, Precision::Int8).expect("model loads")),
        ),
        (
            "fast_int8",
            Box::new(Model::load(dir, Precision::FastInt8).expect("model loads")),
        ),
    ];
    #[cfg(feature = "onnx")]
    {
        let lib = std::env::var_os("ORT_DYLIB_PATH").expect("ORT_DYLIB_PATH names libonnxruntime");
        for (name, file) in [("ort_fp32", "model.onnx"), ("ort_int8", "model.int8.onnx")] {
            let model = cinch_kompress::onnx::OnnxModel::load_file(
                dir,
                &dir.join(file),
                std::path::Path::new(&lib),
                2,
            )
            .expect("model loads");
            out.push((name, Box::new(model)));
        }
    }
    out
}

fn forward_512(c: &mut Criterion) {
    let dir = bench_dir();
    if !dir.join("model.safetensors").exists() {
        eprintln!(
            "no benchmark model in {}: run crates/cinch-kompress/tools/make_bench_model.py",
            dir.display()
        );
        return;
    }
    let ids = bench_ids(50368, 512);
    let mut group = c.benchmark_group("kompress_forward_512_tokens");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    for (name, model) in backends(&dir) {
        group.bench_function(name, |b| {
            b.iter(|| model.keep_scores(&ids).expect("forward runs"))
        });
    }
    group.finish();
}

criterion_group!(benches, forward_512);
criterion_main!(benches);
