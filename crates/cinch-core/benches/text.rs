//! Throughput of `compress` on text, one corpus item per kind where the time goes: code
//! (tree-sitter outline), documents with code fences, logs, search results and diffs. Set
//! CINCH_CORPUS to the corpus folder (default: ../shared/corpus beside the checkout).

use cinch_core::ccr::MemoryStore;
use cinch_core::{compress, Options};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::PathBuf;

const ITEMS: [&str; 7] = [
    "code_dependabot_shared_helpers.rb",
    "code_uv_resolver_mod.rs",
    "doc_rg_faq.md",
    "log_mac.log",
    "grep_dependabot_latest_version.txt",
    "diff_pingora_bf9ef27e.diff",
    "gh_compare_commits.json",
];

fn corpus() -> PathBuf {
    std::env::var_os("CINCH_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"))
}

fn bench(c: &mut Criterion) {
    cinch_core::warm(cinch_core::Tokenizer::default());
    let mut group = c.benchmark_group("text");
    for file in ITEMS {
        let path = corpus().join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipping {}: not found (set CINCH_CORPUS)", path.display());
            continue;
        };
        group.throughput(Throughput::Bytes(text.len() as u64));
        let store = MemoryStore::default();
        let opts = Options::default();
        group.bench_function(file, |b| b.iter(|| compress(&text, &opts, &store)));
    }
    // The whole corpus in one go, as `score.py` runs it but without process start-up: the
    // number to compare against a baseline, and the one to profile.
    let mut items: Vec<(String, String)> = std::fs::read_dir(corpus())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            !matches!(p.extension().and_then(|e| e.to_str()), Some("jsonl" | "md"))
                || p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("doc_"))
        })
        .filter_map(|p| {
            Some((
                p.file_name()?.to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).ok()?,
            ))
        })
        .collect();
    items.sort();
    if !items.is_empty() {
        let bytes: usize = items.iter().map(|(_, t)| t.len()).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        let store = MemoryStore::default();
        let opts = Options::default();
        group.bench_function("corpus", |b| {
            b.iter(|| {
                for (_, text) in &items {
                    let _ = compress(text, &opts, &store);
                }
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
