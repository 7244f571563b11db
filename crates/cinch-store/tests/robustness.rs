//! Stores under stress: writers killed mid-way, two processes on one file, a Redis server that
//! goes away, huge and binary values.

use cinch_core::{GetError, Key, Store};
use cinch_store::testing::RedisServer;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The content a writer stores as its entry `i`.
fn content(tag: &str, i: usize) -> String {
    format!("{tag} entry {i} {}", "payload ".repeat(i % 300))
}

/// In a child started by [`start_writer`], the test that starts writers acts as one: it puts
/// entries in a loop into `CINCH_TEST_STORE` and prints `PUT KEY I` after each put returned,
/// reading back the previous entry as it goes; it stops after `CINCH_TEST_COUNT` entries, or when
/// killed. Returns whether it was that child.
fn act_as_writer_if_asked() -> bool {
    let Ok(url) = std::env::var("CINCH_TEST_STORE") else {
        return false;
    };
    let tag = std::env::var("CINCH_TEST_TAG").unwrap_or_default();
    let count: usize = std::env::var("CINCH_TEST_COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(usize::MAX);
    let store = cinch_store::open(Some(&url)).unwrap();
    let mut last: Option<(Key, String)> = None;
    for i in 0..count {
        let c = content(&tag, i);
        let key = store.put("ns", c.as_bytes()).unwrap();
        println!("PUT {key} {i}");
        if let Some((k, c)) = &last {
            assert_eq!(store.get("ns", k).unwrap(), c.as_bytes());
        }
        last = Some((key, c));
    }
    true
}

/// Starts this test binary again, running only `test`, as a writer (see
/// [`act_as_writer_if_asked`]).
fn start_writer(test: &str, url: &str, tag: &str, count: Option<usize>) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("CINCH_TEST_STORE", url)
        .env("CINCH_TEST_TAG", tag)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(n) = count {
        cmd.env("CINCH_TEST_COUNT", n.to_string());
    }
    cmd.spawn().unwrap()
}

/// Starts a writer, kills it with SIGKILL after `confirmed` puts have returned, and checks
/// that every one of them is there, intact, when the store is opened again.
fn killed_writer_loses_nothing_it_confirmed(test: &str, url: &str) {
    let mut child = start_writer(test, url, "killed", None);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut confirmed: Vec<(Key, usize)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while confirmed.len() < 400 && Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        // The test harness may start the first line with its own words.
        if let Some(rest) = line.split_once("PUT ").map(|(_, r)| r) {
            let (key, i) = rest.split_once(' ').unwrap();
            confirmed.push((Key::parse(key).unwrap(), i.parse().unwrap()));
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        confirmed.len() >= 400,
        "the writer confirmed only {}",
        confirmed.len()
    );
    let store = cinch_store::open(Some(url)).unwrap();
    for (key, i) in confirmed {
        assert_eq!(
            store.get("ns", &key).unwrap(),
            content("killed", i).as_bytes(),
            "entry {i}"
        );
    }
}

#[test]
fn sqlite_keeps_every_confirmed_entry_through_sigkill() {
    if act_as_writer_if_asked() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    killed_writer_loses_nothing_it_confirmed(
        "sqlite_keeps_every_confirmed_entry_through_sigkill",
        dir.path().join("ccr.sqlite").to_str().unwrap(),
    );
}

#[test]
fn redis_keeps_every_confirmed_entry_through_sigkill() {
    if act_as_writer_if_asked() {
        return;
    }
    let server = RedisServer::start().expect("a redis-server for the Redis tests");
    killed_writer_loses_nothing_it_confirmed(
        "redis_keeps_every_confirmed_entry_through_sigkill",
        &server.url,
    );
}

#[test]
fn two_processes_share_one_sqlite_file() {
    if act_as_writer_if_asked() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ccr.sqlite");
    let url = path.to_str().unwrap();
    let writers: Vec<_> = ["left", "right"]
        .iter()
        .map(|tag| {
            let child = start_writer("two_processes_share_one_sqlite_file", url, tag, Some(500));
            (tag, child)
        })
        .collect();
    let mut keys = Vec::new();
    for (tag, child) in writers {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "writer {tag} failed");
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            if let Some((_, rest)) = line.split_once("PUT ") {
                let (key, i) = rest.split_once(' ').unwrap();
                keys.push((Key::parse(key).unwrap(), content(tag, i.parse().unwrap())));
            }
        }
    }
    assert_eq!(keys.len(), 1000);
    let store = cinch_store::open(Some(url)).unwrap();
    for (key, c) in &keys {
        assert_eq!(store.get("ns", key).unwrap(), c.as_bytes());
    }
    assert_eq!(store.stats().unwrap().entries, 1000);
}

#[test]
fn redis_down_or_going_away_is_a_clear_error_and_recovers() {
    // Nobody listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let Err(e) = cinch_store::open(Some(&format!("redis://127.0.0.1:{port}/0"))) else {
        panic!("opened a Redis store with no server");
    };
    assert!(e.to_string().contains("cannot reach Redis"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let server = RedisServer::start().expect("a redis-server for the Redis tests");
    let store = cinch_store::open(Some(&server.url)).unwrap();
    let key = store.put("ns", b"before").unwrap();
    let port = server.port;
    drop(server);
    let started = Instant::now();
    let e = store.put("ns", b"while down").unwrap_err();
    assert!(e.to_string().contains("Redis"), "{e}");
    assert!(matches!(store.get("ns", &key), Err(GetError::Backend(_))));
    assert!(started.elapsed() < Duration::from_secs(10), "no hang");
    // The same store works again once a server is back (a fresh one: the data is gone).
    let _server = RedisServer::on(port).expect("a redis-server back on its port");
    let k = store.put("ns", b"after").unwrap();
    assert_eq!(store.get("ns", &k).unwrap(), b"after");
}

fn hundred_megabytes(store: &dyn Store) {
    let big: Vec<u8> = (0..100_000_000u32).map(|i| (i % 251) as u8).collect();
    let key = store.put("ns", &big).unwrap();
    assert_eq!(store.get("ns", &key).unwrap(), big);
}

#[test]
fn a_hundred_megabyte_entry_round_trips_in_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    hundred_megabytes(
        cinch_store::open(Some(dir.path().join("big.sqlite").to_str().unwrap()))
            .unwrap()
            .as_ref(),
    );
    hundred_megabytes(cinch_store::open(Some("memory:")).unwrap().as_ref());
    let server = RedisServer::start().expect("a redis-server for the Redis tests");
    hundred_megabytes(cinch_store::open(Some(&server.url)).unwrap().as_ref());
}

#[test]
fn a_store_path_that_cannot_be_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be.
    let Err(e) = cinch_store::open(Some(dir.path().to_str().unwrap())) else {
        panic!("opened a directory as a database");
    };
    assert!(e.to_string().contains(dir.path().to_str().unwrap()), "{e}");
}

/// A store file that can be read but never written (here: one on a full disk).
#[cfg(target_os = "linux")]
#[test]
fn a_store_that_cannot_be_written_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.sqlite");
    std::os::unix::fs::symlink("/dev/full", &path).unwrap();
    let Err(e) = cinch_store::open(Some(path.to_str().unwrap())) else {
        panic!("opened a store that cannot be written");
    };
    let msg = e.to_string();
    assert!(msg.contains("full.sqlite") && msg.contains("full"), "{msg}");
}
