//! Put and get of 10 KB entries on each backend: criterion's estimates, then p50 and p99 of
//! single operations.
//!
//! `cargo bench -p cinch-store --bench store` (needs `redis-server` on the PATH).

use cinch_core::ccr::Limits;
use cinch_core::{Key, Store};
use criterion::{criterion_group, Criterion};
use std::time::Instant;

const ENTRY: usize = 10 * 1024;

/// Distinct 10 KB contents.
fn content(i: u64) -> Vec<u8> {
    let mut v = format!("entry {i} ").into_bytes();
    v.resize(ENTRY, b'x');
    v
}

/// A backend's name, the store, and what keeps it alive.
type Backend = (&'static str, Box<dyn Store>, Box<dyn std::any::Any>);

fn backends() -> Vec<Backend> {
    let limits = Limits {
        capacity: 512 << 20,
        ..Limits::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = cinch_store::SqliteStore::open_with(&dir.path().join("b.sqlite"), limits).unwrap();
    let server = cinch_store::testing::RedisServer::start().expect("redis-server on the PATH");
    let redis = cinch_store::RedisStore::open(&server.url, limits).unwrap();
    vec![
        ("sqlite", Box::new(sqlite), Box::new(dir)),
        (
            "memory",
            Box::new(cinch_core::ccr::MemoryStore::new(limits)),
            Box::new(()),
        ),
        ("redis", Box::new(redis), Box::new(server)),
    ]
}

fn bench(c: &mut Criterion) {
    let mut latencies = Vec::new();
    for (name, store, _guard) in backends() {
        let mut group = c.benchmark_group(format!("store/{name}"));
        group.throughput(criterion::Throughput::Bytes(ENTRY as u64));
        let mut n = 0u64;
        group.bench_function("put 10KB", |b| {
            b.iter(|| {
                n += 1;
                store.put("bench", &content(n)).unwrap()
            })
        });
        let keys: Vec<Key> = (0..1000u64)
            .map(|i| store.put("bench", &content(1 << 40 | i)).unwrap())
            .collect();
        let mut i = 0usize;
        group.bench_function("get 10KB", |b| {
            b.iter(|| {
                i = (i + 7919) % keys.len();
                store.get("bench", &keys[i]).unwrap()
            })
        });
        group.finish();

        // Single operations, timed one by one, for the tail.
        let mut put = Vec::new();
        let mut get = Vec::new();
        for j in 0..5000u64 {
            let c = content(1 << 41 | j);
            let t = Instant::now();
            store.put("bench", &c).unwrap();
            put.push(t.elapsed());
            let k = &keys[(j as usize * 7919) % keys.len()];
            let t = Instant::now();
            store.get("bench", k).unwrap();
            get.push(t.elapsed());
        }
        latencies.push((name, "put", put));
        latencies.push((name, "get", get));
    }
    println!("\n| backend | op (10 KB) | p50 | p99 |\n|---|---|---:|---:|");
    for (name, op, mut samples) in latencies {
        samples.sort();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        println!(
            "| {name} | {op} | {:.1} µs | {:.1} µs |",
            at(0.50).as_secs_f64() * 1e6,
            at(0.99).as_secs_f64() * 1e6
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
