//! The behaviour every store backend must have, run against each of them.

use cinch_core::ccr::Limits;
use cinch_core::{GetError, Key, Store};
use cinch_store::testing::RedisServer;
use cinch_store::{MemoryStore, SqliteStore};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Makes a fresh, empty store of one backend with the given limits. The guard keeps whatever
/// the store lives in (a temporary directory) for as long as the test needs it.
type Factory = fn(Limits) -> (Arc<dyn Store>, Box<dyn std::any::Any>);

fn memory(limits: Limits) -> (Arc<dyn Store>, Box<dyn std::any::Any>) {
    (Arc::new(MemoryStore::new(limits)), Box::new(()))
}

fn sqlite(limits: Limits) -> (Arc<dyn Store>, Box<dyn std::any::Any>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(&dir.path().join("ccr.sqlite"), limits).unwrap();
    (Arc::new(store), Box::new(dir))
}

fn redis(limits: Limits) -> (Arc<dyn Store>, Box<dyn std::any::Any>) {
    let server = RedisServer::start().expect("a redis-server for the Redis tests");
    let store = cinch_store::RedisStore::open(&server.url, limits).unwrap();
    (Arc::new(store), Box::new(server))
}

fn limits(ttl_ms: u64, capacity: u64) -> Limits {
    Limits {
        ttl: Duration::from_millis(ttl_ms),
        capacity,
    }
}

fn roomy() -> Limits {
    limits(3_600_000, 1 << 30)
}

fn put_is_idempotent(make: Factory) {
    let (s, _g) = make(roomy());
    let a = s.put("ns", b"the same rows").unwrap();
    let b = s.put("ns", b"the same rows").unwrap();
    assert_eq!(a, b);
    assert_eq!(a, Key::of(b"the same rows"), "one key scheme everywhere");
    let st = s.stats().unwrap();
    assert_eq!((st.entries, st.bytes), (1, 13));
    assert_eq!(s.put_many("ns", &[b"x", b"the same rows"]).unwrap()[1], a);
    assert_eq!(s.stats().unwrap().entries, 2);
}

fn content_comes_back_byte_for_byte(make: Factory) {
    let (s, _g) = make(roomy());
    let binary: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    for content in [&b""[..], b"\0\xff not utf-8 \xc3", &binary] {
        let k = s.put("ns", content).unwrap();
        assert_eq!(s.get("ns", &k).unwrap(), content);
    }
}

fn unknown_keys_are_unknown_and_counted(make: Factory) {
    let (s, _g) = make(roomy());
    let k = Key::of(b"never stored");
    assert!(matches!(s.get("ns", &k), Err(GetError::Unknown(_))));
    let st = s.stats().unwrap();
    assert_eq!((st.misses, st.hits), (1, 0));
}

fn namespaces_do_not_see_each_other(make: Factory) {
    let (s, _g) = make(roomy());
    let k = s.put("tenant-a", b"a's rows").unwrap();
    let other = s.get("tenant-b", &k).unwrap_err();
    let never = s.get("tenant-b", &Key::of(b"nothing")).unwrap_err();
    assert!(matches!(other, GetError::Unknown(_)));
    // The same answer as for a key nobody stored: nothing to probe.
    assert_eq!(
        other.to_string().replace(k.as_str(), "KEY"),
        never
            .to_string()
            .replace(Key::of(b"nothing").as_str(), "KEY")
    );
    assert_eq!(s.clear(Some("tenant-b")).unwrap(), 0);
    assert_eq!(s.get("tenant-a", &k).unwrap(), b"a's rows");
    // The same content in two namespaces is two entries.
    s.put("tenant-b", b"a's rows").unwrap();
    assert_eq!(s.clear(Some("tenant-a")).unwrap(), 1);
    assert_eq!(s.get("tenant-b", &k).unwrap(), b"a's rows");
}

fn reads_extend_the_lifetime(make: Factory) {
    let (s, _g) = make(limits(1500, 1 << 30));
    let start = Instant::now();
    let read = s.put("ns", b"kept alive").unwrap();
    let unread = s.put("ns", b"left alone").unwrap();
    sleep_until(start, 700);
    s.get("ns", &read).unwrap();
    sleep_until(start, 1700);
    // Past the TTL from the put, within it from the read.
    assert_eq!(s.get("ns", &read).unwrap(), b"kept alive");
    let e = s.get("ns", &unread).unwrap_err();
    assert!(matches!(e, GetError::Expired(_)), "{e}");
    assert!(e.to_string().contains("re-run the tool"), "{e}");
    sleep_until(start, 3900);
    assert!(matches!(s.get("ns", &read), Err(GetError::Expired(_))));
    let st = s.stats().unwrap();
    assert_eq!(st.expired, 2);
    assert_eq!(st.entries, 0);
    // Storing it again brings it back.
    s.put("ns", b"left alone").unwrap();
    assert_eq!(s.get("ns", &unread).unwrap(), b"left alone");
}

fn gc_removes_what_has_expired(make: Factory) {
    let (s, _g) = make(limits(300, 1 << 30));
    let k = s.put("ns", b"short-lived").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(s.gc().unwrap(), 1);
    assert_eq!(s.stats().unwrap().entries, 0);
    assert!(matches!(s.get("ns", &k), Err(GetError::Expired(_))));
}

fn capacity_evicts_the_least_recently_used(make: Factory) {
    let (s, _g) = make(limits(3_600_000, 100_000));
    let blob = |i: u8| vec![i; 20_000];
    let first = s.put("ns", &blob(0)).unwrap();
    let mut keys = vec![first.clone()];
    for i in 1..10u8 {
        keys.push(s.put("ns", &blob(i)).unwrap());
        // Reading the first keeps it the most recently used.
        s.get("ns", &first).unwrap();
        // Entries are at least a millisecond apart in their last use.
        std::thread::sleep(Duration::from_millis(2));
    }
    let st = s.stats().unwrap();
    assert!(st.bytes <= 100_000, "{st:?}");
    assert_eq!(st.entries, 5);
    assert!(st.evicted >= 5, "{st:?}");
    assert_eq!(s.get("ns", &first).unwrap(), blob(0));
    let e = s.get("ns", &keys[1]).unwrap_err();
    assert!(matches!(e, GetError::Evicted(_)), "{e}");
    assert!(e.to_string().contains("re-run the tool"), "{e}");
    assert_eq!(s.get("ns", &keys[9]).unwrap(), blob(9));
}

fn content_larger_than_the_store_is_refused(make: Factory) {
    let (s, _g) = make(limits(3_600_000, 1000));
    let e = s.put("ns", &[7u8; 1001]).unwrap_err();
    assert!(e.to_string().contains("capacity"), "{e}");
    // Parts that fit one by one but not together: storing them would evict some of them.
    let e = s.put_many("ns", &[&[1u8; 600], &[2u8; 600]]).unwrap_err();
    assert!(e.to_string().contains("capacity"), "{e}");
    assert_eq!(s.stats().unwrap().entries, 0);
}

fn clear_removes_everything(make: Factory) {
    let (s, _g) = make(roomy());
    s.put("a", b"1").unwrap();
    s.put("b", b"2").unwrap();
    assert_eq!(s.clear(None).unwrap(), 2);
    let st = s.stats().unwrap();
    assert_eq!((st.entries, st.bytes), (0, 0));
}

fn many_threads_at_once(make: Factory) {
    let (s, _g) = make(roomy());
    std::thread::scope(|scope| {
        for t in 0..8 {
            let s = Arc::clone(&s);
            scope.spawn(move || {
                let mut mine = Vec::new();
                for i in 0..10_000 {
                    if i % 2 == 0 {
                        let content = format!("thread {t} entry {i}");
                        mine.push((s.put("ns", content.as_bytes()).unwrap(), content));
                    } else {
                        let (k, content) = &mine[(i * 7919) % mine.len()];
                        assert_eq!(s.get("ns", k).unwrap(), content.as_bytes());
                    }
                }
            });
        }
    });
    let st = s.stats().unwrap();
    assert_eq!(st.entries, 8 * 5_000);
    assert_eq!(st.hits, 8 * 5_000);
}

fn sleep_until(start: Instant, ms: u64) {
    let target = start + Duration::from_millis(ms);
    if let Some(left) = target.checked_duration_since(Instant::now()) {
        std::thread::sleep(left);
    }
}

/// One module of tests per backend, each test running one behaviour on that backend.
macro_rules! conformance {
    ($($backend:ident),* ; $tests:tt) => {
        $( conformance!(@backend $backend $tests); )*
    };
    (@backend $backend:ident [$($test:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[test]
                fn $test() {
                    super::$test(super::$backend);
                }
            )*
        }
    };
}

conformance!(memory, sqlite, redis; [
    put_is_idempotent,
    content_comes_back_byte_for_byte,
    unknown_keys_are_unknown_and_counted,
    namespaces_do_not_see_each_other,
    reads_extend_the_lifetime,
    gc_removes_what_has_expired,
    capacity_evicts_the_least_recently_used,
    content_larger_than_the_store_is_refused,
    clear_removes_everything,
    many_threads_at_once,
]);
