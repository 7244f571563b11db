//! The `cinch` binary as a user runs it: real processes, a real SQLite file.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn cinch(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cinch"))
        .args(args)
        .env_remove("CINCH_STORE")
        .env_remove("CINCH_NAMESPACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cinch runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs cinch and reads its stdout as JSON, failing with its stderr.
fn json(args: &[&str], stdin: &[u8]) -> serde_json::Value {
    let out = cinch(args, stdin);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A listing as `jq` prints it (pretty, two spaces, a final line break).
fn listing(n: usize) -> String {
    let rows: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({"id": i, "name": format!("item-{i}"),
                               "state": if i % 9 == 4 { "failed" } else { "ok" }})
        })
        .collect();
    serde_json::to_string_pretty(&rows).unwrap() + "\n"
}

#[test]
fn compress_then_retrieve_from_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ccr.sqlite");
    let store = db.to_str().unwrap();
    let input = listing(500);
    let out = cinch(
        &[
            "compress", "--json", "--budget", "300", "--query", "id = 250", "--store", store,
        ],
        input.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "output",
        "kind",
        "strategy",
        "tokens_before",
        "tokens_after",
        "lossless",
        "ccr_keys",
        "elapsed_us",
    ] {
        assert!(report.get(field).is_some(), "report lacks {field}");
    }
    assert_eq!(report["strategy"], "table+select");
    assert!(report["output"].as_str().unwrap().contains("item-250"));
    let key = report["ccr_keys"][0].as_str().unwrap();
    let back = cinch(
        &["retrieve", key, "--store", &format!("sqlite:{store}")],
        b"",
    );
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&back.stdout),
        input,
        "the original, byte for byte"
    );
    let dropped = cinch(
        &[
            "retrieve",
            key,
            "--dropped",
            "--store",
            &format!("sqlite:{store}"),
        ],
        b"",
    );
    let dropped: Vec<serde_json::Value> = serde_json::from_slice(&dropped.stdout).unwrap();
    assert!(dropped.len() > 400);
}

#[test]
fn expand_inverts_a_lossless_encoding() {
    let input = listing(30);
    let out = cinch(&["compress", "--store", "memory:"], input.as_bytes());
    assert!(out.status.success());
    assert!(
        out.stdout
            .starts_with(b"@json indent=2 nl\n[30]{id,name,state}:"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let back = cinch(&["expand"], &out.stdout);
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&back.stdout),
        input,
        "byte for byte"
    );
}

#[test]
fn expanding_a_lossy_output_names_the_keys() {
    let out = cinch(
        &["compress", "--budget", "200", "--store", "memory:"],
        listing(400).as_bytes(),
    );
    let back = cinch(&["expand"], &out.stdout);
    assert!(!back.status.success());
    assert!(String::from_utf8_lossy(&back.stderr).contains("cinch retrieve"));
}

#[test]
fn unknown_and_malformed_keys_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.sqlite");
    let unknown = cinch(
        &[
            "retrieve",
            "0123456789abcdef",
            "--store",
            store.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown key 0123456789abcdef"));
    let bad = cinch(
        &[
            "retrieve",
            "../etc/passwd",
            "--store",
            store.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a cinch key"));
}

#[test]
fn bad_input_passes_through_or_fails_clearly() {
    let binary = b"\xff\xfe{not utf8}\x00";
    let plain = cinch(&["compress", "--store", "memory:"], binary);
    assert!(plain.status.success());
    assert_eq!(plain.stdout, binary);
    let json = cinch(&["compress", "--json", "--store", "memory:"], binary);
    assert_eq!(json.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&json.stderr).contains("not valid UTF-8"));
    for input in ["", "{\"a\":", "plain text\n"] {
        let out = cinch(
            &["compress", "--json", "--store", "memory:"],
            input.as_bytes(),
        );
        assert!(out.status.success());
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["output"], input);
        assert_eq!(r["strategy"], "passthrough");
    }
}

#[test]
fn a_huge_input_stays_bounded() {
    // 5 MB of rows, one in nine failed: compressed within the budget, no hang.
    let input = listing(100_000);
    let out = cinch(
        &["compress", "--json", "--store", "memory:"],
        input.as_bytes(),
    );
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        r["tokens_after"].as_u64().unwrap() < 4000,
        "{}",
        r["tokens_after"]
    );
}

/// Compresses `listing(n)` into `store` and returns the marker's key.
fn compress_listing(n: usize, store: &str, extra: &[&str]) -> String {
    let mut args = vec!["compress", "--json", "--budget", "300", "--store", store];
    args.extend_from_slice(extra);
    let out = cinch(&args, listing(n).as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["ccr_keys"][0].as_str().unwrap().to_string()
}

#[test]
fn retrieve_with_a_query_returns_only_the_matching_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ccr.sqlite");
    let store = db.to_str().unwrap();
    let key = compress_listing(5000, store, &[]);
    let one = cinch(
        &[
            "retrieve",
            &key,
            "--query",
            "the row with id 4711",
            "--store",
            store,
        ],
        b"",
    );
    assert!(one.status.success());
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(rows[0]["id"], 4711, "the exact id first");
    assert!(String::from_utf8_lossy(&one.stderr).contains("rows match"));

    let failed = cinch(
        &[
            "retrieve",
            &key,
            "--query",
            "state = failed",
            "--limit",
            "3",
            "--offset",
            "2",
            "--store",
            store,
        ],
        b"",
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["state"] == "failed"));

    // Without a query: the whole original, paginated on request.
    let page = cinch(&["retrieve", &key, "--limit", "10", "--store", store], b"");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&page.stdout).unwrap();
    assert_eq!(rows.len(), 10);
}

#[test]
fn another_namespace_cannot_read_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ccr.sqlite");
    let store = db.to_str().unwrap();
    let key = compress_listing(500, store, &["--namespace", "tenant-a"]);
    let theirs = cinch(
        &[
            "retrieve",
            &key,
            "--namespace",
            "tenant-b",
            "--store",
            store,
        ],
        b"",
    );
    assert_eq!(theirs.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&theirs.stderr).contains("unknown key"));
    let ours = cinch(
        &[
            "retrieve",
            &key,
            "--namespace",
            "tenant-a",
            "--store",
            store,
        ],
        b"",
    );
    assert!(ours.status.success());
}

#[test]
fn an_expired_key_says_so_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}?ttl=1s", dir.path().join("ccr.sqlite").display());
    let key = compress_listing(500, &url, &[]);
    std::thread::sleep(std::time::Duration::from_millis(1300));
    let gone = cinch(&["retrieve", &key, "--store", &url], b"");
    assert_eq!(gone.status.code(), Some(1));
    let msg = String::from_utf8_lossy(&gone.stderr);
    assert!(
        msg.contains("expired key") && msg.contains("re-run the tool"),
        "{msg}"
    );
}

#[test]
fn store_stats_gc_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ccr.sqlite");
    let store = db.to_str().unwrap();
    let key = compress_listing(500, store, &[]);
    assert!(cinch(&["retrieve", &key, "--store", store], b"")
        .status
        .success());
    let json = |args: &[&str]| -> serde_json::Value {
        let out = cinch(args, b"");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let stats = json(&["store", "stats", "--store", store]);
    assert_eq!(stats["entries"], 1);
    assert_eq!(stats["hits"], 1);
    assert!(stats["bytes"].as_u64().unwrap() > 1000);
    assert_eq!(
        json(&["store", "gc", "--store", store])["removed_expired"],
        0
    );
    assert_eq!(json(&["store", "clear", "--store", store])["removed"], 1);
    assert_eq!(json(&["store", "stats", "--store", store])["entries"], 0);
}

#[test]
fn a_store_that_cannot_open_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the store's directory should be.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let store = blocker.join("ccr.sqlite");
    let store = store.to_str().unwrap();
    let big = listing(500);
    let out = cinch(
        &["compress", "--json", "--budget", "300", "--store", store],
        big.as_bytes(),
    );
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["output"], big.as_str(), "nothing dropped");
    assert!(report["reason"].as_str().unwrap().contains("cannot create"));
    let small = listing(5);
    let out = cinch(&["compress", "--json", "--store", store], small.as_bytes());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["strategy"], "table",
        "lossless results need no store"
    );
}

#[test]
fn compress_into_redis_and_retrieve_from_another_process() {
    let server = cinch_store::testing::RedisServer::start().expect("a redis-server for this test");
    let input = listing(500);
    let out = cinch(
        &[
            "compress",
            "--json",
            "--budget",
            "300",
            "--store",
            &server.url,
        ],
        input.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["strategy"], "table+select");
    let key = report["ccr_keys"][0].as_str().unwrap();
    let back = cinch(&["retrieve", key, "--dropped", "--store", &server.url], b"");
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    let dropped: Vec<serde_json::Value> = serde_json::from_slice(&back.stdout).unwrap();
    let original: Vec<serde_json::Value> = serde_json::from_str(&input).unwrap();
    // Every dropped row is one of the original rows, and kept plus dropped are all of them.
    assert!(dropped.iter().all(|r| original.contains(r)));
    let output = report["output"].as_str().unwrap();
    let kept = original
        .iter()
        .filter(|r| output.contains(&format!("item-{},", r["id"])))
        .count();
    assert_eq!(kept + dropped.len(), original.len());
}

/// `--kompress-model` with the tiny random Kompress model: prose goes through the model, and
/// the words it drops come back whole from another process.
#[test]
fn kompress_compresses_prose_and_its_drops_are_retrievable() {
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../cinch-kompress/tests/fixtures/tiny-kompress"
    );
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    let store = store.to_str().unwrap();
    let doc = dir.path().join("notes.md");
    let text = "# Deploying the service\n\nThe service reads its settings from the environment \
                when it starts, and it will refuse to start when a required setting is missing \
                or malformed, which is what most people run into the first time they try to \
                deploy it on a fresh machine without reading this page. It checks the queue \
                every 30 seconds and logs each decision to /var/log/sched.log for later \
                inspection by the operators on call.\n\nWhen the service is up, it answers on \
                the health endpoint with a short message that says which version is running \
                and how long it has been up; the uptime is given in seconds since the process \
                started.\n";
    std::fs::write(&doc, text).unwrap();
    // f32, and the int8 path.
    for extra in [None, Some("--kompress-int8")] {
        let mut args = vec![
            "compress",
            "--json",
            "--store",
            store,
            "--kompress-model",
            model,
            "--kompress-ratio",
            "0.5",
            doc.to_str().unwrap(),
        ];
        args.extend(extra);
        let out = cinch(&args, b"");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["strategy"], "kompress", "{extra:?}: {report}");
        let output = report["output"].as_str().unwrap();
        assert!(output.contains("/var/log/sched.log") && output.contains("30"));
        let key = report["ccr_keys"][0].as_str().unwrap();
        let back = cinch(&["retrieve", "--store", store, key], b"");
        assert_eq!(String::from_utf8(back.stdout).unwrap(), text);
    }

    // A model directory that is not there: the deterministic compressor, and the report says why.
    let out = cinch(
        &[
            "compress",
            "--json",
            "--store",
            store,
            "--kompress-model",
            "/no/such/dir",
            doc.to_str().unwrap(),
        ],
        b"",
    );
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(report["strategy"], "kompress");
    assert!(report["reason"]
        .as_str()
        .unwrap()
        .contains("/no/such/dir/config.json"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not load"));
}

/// A build log of `n` lines with one failure.
fn log(n: usize) -> String {
    let mut s: String = (0..n)
        .map(|i| {
            format!(
                "2026-12-04T10:{:02}:{:02}Z INFO worker-{} job {i} done\n",
                i / 60 % 60,
                i % 60,
                i % 3
            )
        })
        .collect();
    s.push_str("2026-12-04T11:00:00Z ERROR worker-2 job 4711 failed: disk full\n");
    s
}

#[test]
fn a_pass_through_is_the_input_byte_for_byte() {
    for input in ["no final line break", "two\nlines", "", "{\"a\": 1}"] {
        let out = cinch(&["compress", "--store", "memory:"], input.as_bytes());
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), input);
    }
}

#[test]
fn a_memory_store_in_a_one_shot_run_says_its_keys_die_with_it() {
    let out = cinch(
        &["compress", "--budget", "200", "--store", "memory:"],
        log(300).as_bytes(),
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("live only as long as this process"), "{err}");
}

#[test]
fn a_malformed_store_url_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["sqlit:/tmp/x.db", "memory", "redis:/localhost"] {
        let out = Command::new(env!("CARGO_BIN_EXE_cinch"))
            .args(["retrieve", "0123456789abcdef", "--store", url])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("unsupported store URL"), "{url}: {err}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file was made"
    );
}

#[test]
fn the_budget_holds_and_lossless_only_may_exceed_it_and_says_so() {
    let input = listing(300);
    let capped = json(
        &[
            "compress", "--json", "--budget", "400", "--store", "memory:",
        ],
        input.as_bytes(),
    );
    assert!(capped["tokens_after"].as_u64().unwrap() <= 400, "{capped}");
    let lossless = json(
        &[
            "compress",
            "--json",
            "--lossless",
            "--budget",
            "400",
            "--store",
            "memory:",
        ],
        input.as_bytes(),
    );
    assert_eq!(lossless["lossless"], true, "{lossless}");
    assert!(lossless["tokens_after"].as_u64().unwrap() > 400);
    assert!(
        lossless["reason"]
            .as_str()
            .unwrap()
            .contains("lossless only"),
        "{lossless}"
    );
}

#[test]
fn a_store_that_cannot_be_written_is_reported_once_and_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let store = blocker.join("ccr.sqlite");
    let out = cinch(
        &[
            "compress",
            "--budget",
            "200",
            "--store",
            store.to_str().unwrap(),
        ],
        log(300).as_bytes(),
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot open the store") && !err.contains("store error: store error"),
        "{err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        log(300),
        "nothing dropped"
    );
}

#[test]
fn a_damaged_entry_is_reported_never_returned() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ccr.sqlite");
    let store = db.to_str().unwrap();
    let report = json(
        &[
            "compress", "--json", "--kind", "lines", "--budget", "200", "--store", store,
        ],
        log(300).as_bytes(),
    );
    let key = report["ccr_keys"][0].as_str().unwrap().to_string();
    let ok = cinch(&["retrieve", &key, "--store", store], b"");
    assert_eq!(String::from_utf8_lossy(&ok.stdout), log(300));
    // One bit flipped in the stored bytes (kept uncompressed so the flip is in the content).
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (content, codec): (Vec<u8>, i64) = conn
        .query_row(
            "SELECT content, codec FROM entries WHERE key = ?1",
            [&key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut flipped = content.clone();
    let at = flipped.len() - 10;
    flipped[at] ^= 0x01;
    conn.execute(
        "UPDATE entries SET content = ?1 WHERE key = ?2",
        rusqlite::params![flipped, key],
    )
    .unwrap();
    drop(conn);
    let bad = cinch(&["retrieve", &key, "--store", store], b"");
    assert!(!bad.status.success(), "codec {codec}");
    assert!(
        bad.stdout.is_empty(),
        "nothing is printed as if it were the original"
    );
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains(&key) && (err.contains("corrupt") || err.contains("damaged")),
        "{err}"
    );
}
