//! Throughput of SmartCrusher on the corpus's three largest JSON items: the table codec
//! (encode, decode) and the whole `compress` call (parse, candidates, token counts, selection,
//! store writes). Set CINCH_CORPUS to the corpus folder (default: ../shared/corpus beside the
//! checkout).

use cinch_core::ccr::MemoryStore;
use cinch_core::json::decode::decode;
use cinch_core::json::encode::encode_document;
use cinch_core::json::parse::parse;
use cinch_core::{compress, Options};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::PathBuf;

const ITEMS: [(&str, &str); 3] = [
    ("packagist_illuminate_support_full.json", "What is the version_normalized of the record with version = v8.22.0?"),
    ("k8s_pod_list.json", "Which records have metadata.labels.tier = node? List their metadata.name."),
    ("aws_rds_engine_versions.json", "What is the EngineVersion of the record with DBEngineVersionDescription = Oracle 11.2.0.4.v5?"),
];

fn corpus() -> PathBuf {
    std::env::var_os("CINCH_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"))
}

fn bench(c: &mut Criterion) {
    cinch_core::warm(cinch_core::Tokenizer::default());
    let mut group = c.benchmark_group("json");
    for (file, query) in ITEMS {
        let path = corpus().join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipping {}: not found (set CINCH_CORPUS)", path.display());
            continue;
        };
        let name = file.trim_end_matches(".json");
        group.throughput(Throughput::Bytes(text.len() as u64));
        let doc = parse(&text).expect("corpus item parses");
        let encoded = encode_document(&doc);
        group.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| encode_document(&doc))
        });
        group.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| decode(&encoded).expect("decodes"))
        });
        let store = MemoryStore::default();
        let opts = Options {
            query: query.to_string(),
            ..Options::default()
        };
        group.bench_function(format!("compress/{name}"), |b| {
            b.iter(|| compress(&text, &opts, &store))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
