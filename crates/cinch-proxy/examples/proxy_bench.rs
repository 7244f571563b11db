//! What `cinch proxy` costs in front of the Anthropic API, measured side by side with a peer
//! proxy against the same in-process mock upstream, in the same run:
//!
//! ```text
//! cargo build --release -p cinch
//! cargo run --release -p cinch-proxy --example proxy_bench -- \
//!     --cinch target/release/cinch \
//!     --peer-name headroom --peer-stats /stats \
//!     --peer-cmd 'env HEADROOM_OFFLINE=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
//!         TIKTOKEN_CACHE_DIR=/tmp/tiktoken-cache HEADROOM_WORKSPACE_DIR=/tmp/peer-ws \
//!         /tmp/peer-venv/bin/headroom proxy --port {port} --anthropic-api-url {upstream} \
//!         --mode token --no-cache --no-rate-limit' \
//!     --json target/proxy_bench.json
//! ```
//!
//! The peer's flags keep the comparison about compression: token mode compresses every
//! request (cache mode only compresses what a session appended, so fresh bodies would pass
//! through), and its response cache and 60 requests/min rate limit would otherwise answer or
//! refuse the repeated requests. Offline, headroom cannot fetch tiktoken's vocabulary and then
//! forwards every request uncompressed (`x-headroom-compression-failed: true`); the cache
//! directory holds the vocabularies under the names tiktoken looks for.
//!
//! Targets: `direct` (the mock itself: the baseline every "added" figure is relative to),
//! cinch, and the peer. Each proxy runs as its own process so that its memory can be read
//! from `/proc/PID/status`. Request kinds (`--kinds`):
//! - `once`: a small request with nothing to compress; the mock writes its response's headers
//!   and body in one write;
//! - `split`: the same, the headers and the body in two writes (as Python's `http.server` does):
//!   a proxy that leaves Nagle's algorithm on holds the body until the client's delayed ACK;
//! - `sse`: a small streaming request; the mock writes the headers, `message_start` right
//!   after, then `--sse-events` text deltas `--sse-interval-ms` apart, each carrying the moment
//!   it was written, so that the client measures each event's delay exactly (the mock runs in
//!   this process) as well as the time to the first event;
//! - `repeated`: a ~100 KB build log in a `tool_result`, byte-identical every time, which
//!   cinch answers from its memo of earlier decisions after the first;
//! - `fresh`: the same log with different timestamps in every line for every request,
//!   so that every request pays for a real compression: the honest number.
//!
//! For each: latency of sequential requests on one keep-alive connection (after a warm-up),
//! then requests/s from `--concurrency` clients for `--duration` seconds.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USAGE: &str = "\
proxy_bench: latency, throughput and memory of HTTP proxies in front of a mock Anthropic API

  --cinch PATH         the cinch binary [target/release/cinch]; `--cinch none` skips it
  --cinch-store URL    its --store [memory:]; the memory store keeps every original it
                       dropped (up to 256 MiB by default), which shows in its RSS
  --peer-cmd CMD       shell command that starts the peer proxy; {port} and {upstream} are
                       replaced by its port and the mock's base URL (run as `exec CMD`, so
                       `env K=V prog ...` keeps the process id)
  --peer-name NAME     label of the peer in the report [peer]
  --peer-ready PATH    GET path answering 2xx once the peer is ready [/readyz]
  --peer-stats PATH    GET path of the peer's JSON statistics, saved in the JSON output
  --n N                sequential requests timed per target and kind [200]
  --warmup N           untimed requests before them [20]
  --max-phase-secs S   stop the sequential phase after S seconds (min. 10 samples) [15]
  --concurrency C      concurrent clients in the throughput phase [8]
  --duration D         seconds of the throughput phase [3]
  --size BYTES         size of the tool output in the large kinds [100000]
  --kinds LIST         which request kinds, comma-separated, of: once, split, sse, repeated,
                       fresh [all]
  --sse-events N       text deltas in each streamed response [10]
  --sse-interval-ms MS time between two deltas [20]
  --seed N             seed of the generated build log [1]
  --settle-secs S      wait after a proxy is ready before reading its idle memory [2]
  --json PATH          also write the results as JSON
  --log-dir DIR        where the proxies' stdout/stderr go [target/proxy_bench-logs]
";

struct Args {
    cinch: Option<PathBuf>,
    cinch_store: String,
    peer_cmd: Option<String>,
    peer_name: String,
    peer_ready: String,
    peer_stats: Option<String>,
    n: usize,
    warmup: usize,
    max_phase: Duration,
    concurrency: usize,
    duration: Duration,
    size: usize,
    kinds: Vec<Kind>,
    sse_events: usize,
    sse_interval: Duration,
    seed: u64,
    settle: Duration,
    json: Option<PathBuf>,
    log_dir: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    fn num<T: FromStr>(flag: &str, v: String) -> Result<T, String> {
        v.parse()
            .map_err(|_| format!("{flag}: `{v}` is not a valid number"))
    }
    let mut a = Args {
        cinch: Some(PathBuf::from("target/release/cinch")),
        cinch_store: "memory:".into(),
        peer_cmd: None,
        peer_name: "peer".into(),
        peer_ready: "/readyz".into(),
        peer_stats: None,
        n: 200,
        warmup: 20,
        max_phase: Duration::from_secs(15),
        concurrency: 8,
        duration: Duration::from_secs(3),
        size: 100_000,
        kinds: Kind::ALL.to_vec(),
        sse_events: 10,
        sse_interval: Duration::from_millis(20),
        seed: 1,
        settle: Duration::from_secs(2),
        json: None,
        log_dir: PathBuf::from("target/proxy_bench-logs"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        let v = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))?;
        let secs = |v: String| {
            Duration::try_from_secs_f64(num(&flag, v)?).map_err(|e| format!("{flag}: {e}"))
        };
        match flag.as_str() {
            "--cinch" => a.cinch = (v != "none").then(|| PathBuf::from(v)),
            "--cinch-store" => a.cinch_store = v,
            "--peer-cmd" => a.peer_cmd = Some(v),
            "--peer-name" => a.peer_name = v,
            "--peer-ready" => a.peer_ready = v,
            "--peer-stats" => a.peer_stats = Some(v),
            "--n" => a.n = num(&flag, v)?,
            "--warmup" => a.warmup = num(&flag, v)?,
            "--max-phase-secs" => a.max_phase = secs(v)?,
            "--concurrency" => a.concurrency = num::<usize>(&flag, v)?.max(1),
            "--duration" => a.duration = secs(v)?,
            "--size" => a.size = num(&flag, v)?,
            "--kinds" => {
                a.kinds = v
                    .split(',')
                    .map(|k| {
                        Kind::ALL
                            .into_iter()
                            .find(|x| x.flag() == k.trim())
                            .ok_or_else(|| format!("--kinds: unknown kind `{k}`\n\n{USAGE}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "--sse-events" => a.sse_events = num(&flag, v)?,
            "--sse-interval-ms" => a.sse_interval = Duration::from_millis(num(&flag, v)?),
            "--seed" => a.seed = num(&flag, v)?,
            "--settle-secs" => a.settle = secs(v)?,
            "--json" => a.json = Some(PathBuf::from(v)),
            "--log-dir" => a.log_dir = PathBuf::from(v),
            _ => return Err(format!("unknown flag {flag}\n\n{USAGE}")),
        }
    }
    Ok(a)
}

// ---------------------------------------------------------------------------------------------
// Request bodies

/// splitmix64: deterministic across platforms and Rust versions, unlike std's hashers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const CRATES: &[&str] = &[
    "serde",
    "tokio",
    "hyper",
    "axum",
    "regex",
    "memchr",
    "bytes",
    "futures-util",
    "tracing",
    "rand",
    "libc",
    "cfg-if",
    "itoa",
    "ryu",
    "smallvec",
    "parking_lot",
    "once_cell",
    "anyhow",
    "thiserror",
    "clap",
    "syn",
    "quote",
    "proc-macro2",
    "unicode-ident",
    "log",
    "mio",
    "socket2",
    "http",
    "h2",
    "rustls",
    "ring",
    "blake3",
    "sha2",
    "base64",
    "url",
    "percent-encoding",
    "idna",
    "indexmap",
    "hashbrown",
    "crossbeam-utils",
    "rayon",
    "tempfile",
    "toml",
    "serde_json",
];
const OWN_CRATES: &[&str] = &["app-core", "app-store", "app-http", "app-cli", "app-worker"];
const MODULES: &[&str] = &[
    "parser", "lexer", "codegen", "store", "cache", "net", "http", "auth", "config", "router",
    "json", "diff", "search", "tokens", "queue", "retry",
];
const TESTS: &[&str] = &[
    "handles_empty_input",
    "rejects_invalid_utf8",
    "round_trips",
    "splits_on_newline",
    "keeps_order",
    "merges_adjacent",
    "respects_deadline",
    "evicts_oldest",
    "parses_nested",
    "counts_tokens",
    "retries_on_503",
    "streams_events",
    "resumes_after_disconnect",
    "escapes_control_chars",
];
const IMPORTS: &[&str] = &[
    "collections::HashMap",
    "sync::Arc",
    "io::Write",
    "fmt::Debug",
    "time::Instant",
];

/// A CI build log (cargo build warnings, then test binaries with a few failures), fixed by a
/// seed; [`BuildLog::render`] prefixes every line with a timestamp that depends on the run,
/// so that runs differ everywhere while keeping the same shape and size.
struct BuildLog {
    lines: Vec<String>,
    /// Milliseconds between a line and the previous one.
    gaps: Vec<u32>,
}

/// `2025-06-01T12:34:56.789Z `
const STAMP_LEN: usize = 25;

impl BuildLog {
    fn new(seed: u64, size: usize) -> BuildLog {
        let mut r = Rng(seed);
        let mut lines: Vec<String> = Vec::new();
        let push = |lines: &mut Vec<String>, s: String| lines.push(s);
        let rendered =
            |lines: &[String]| -> usize { lines.iter().map(|l| l.len() + STAMP_LEN + 1).sum() };
        push(
            &mut lines,
            "##[group]Run cargo test --workspace --locked".into(),
        );
        for c in CRATES.iter().chain(OWN_CRATES) {
            let v = format!("{}.{}.{}", r.below(3), r.below(40), r.below(20));
            push(&mut lines, format!("   Compiling {c} v{v}"));
            if OWN_CRATES.contains(c) && r.chance(60) {
                let (m, l, col) = (r.pick(MODULES), 1 + r.below(400), 5 + r.below(20));
                let imp = r.pick(IMPORTS);
                for s in [
                    format!("warning: unused import: `std::{imp}`"),
                    format!("  --> crates/{c}/src/{m}.rs:{l}:{col}"),
                    "   |".into(),
                    format!("{l:>3} | use std::{imp};"),
                    format!("   |     {}", "^".repeat(imp.len() + 5)),
                    "   |".into(),
                    "   = note: `#[warn(unused_imports)]` on by default".into(),
                    String::new(),
                ] {
                    push(&mut lines, s);
                }
            }
        }
        push(
            &mut lines,
            format!(
                "    Finished `test` profile [unoptimized + debuginfo] target(s) in {}.{:02}s",
                20 + r.below(60),
                r.below(100)
            ),
        );
        while rendered(&lines) < size {
            let c = r.pick(OWN_CRATES);
            let hash = r.next();
            let target = if r.chance(70) {
                "unittests src/lib.rs".to_string()
            } else {
                format!("tests/{}.rs", r.pick(MODULES))
            };
            push(
                &mut lines,
                format!("     Running {target} (target/debug/deps/{c}-{hash:016x})"),
            );
            let n = 20 + r.below(100);
            push(&mut lines, String::new());
            push(&mut lines, format!("running {n} tests"));
            let (mut ok, mut ignored, mut failed) = (0, 0, Vec::new());
            for k in 0..n {
                let name = format!(
                    "{}::{}::tests::{}_{k}",
                    r.pick(MODULES),
                    r.pick(MODULES),
                    r.pick(TESTS)
                );
                let outcome = match r.below(100) {
                    0..=1 => {
                        failed.push(name.clone());
                        "FAILED"
                    }
                    2..=4 => {
                        ignored += 1;
                        "ignored"
                    }
                    _ => {
                        ok += 1;
                        "ok"
                    }
                };
                push(&mut lines, format!("test {name} ... {outcome}"));
            }
            if !failed.is_empty() {
                push(&mut lines, String::new());
                push(&mut lines, "failures:".into());
                for name in &failed {
                    let (left, right) = (r.below(50), 50 + r.below(50));
                    let at = format!(
                        "crates/{c}/src/{}.rs:{}:{}",
                        r.pick(MODULES),
                        1 + r.below(900),
                        5 + r.below(30)
                    );
                    for s in [
                        String::new(),
                        format!("---- {name} stdout ----"),
                        format!("thread '{name}' panicked at {at}:"),
                        "assertion `left == right` failed".into(),
                        format!("  left: {left}"),
                        format!(" right: {right}"),
                        "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace".into(),
                    ] {
                        push(&mut lines, s);
                    }
                }
                push(&mut lines, String::new());
                push(&mut lines, "failures:".into());
                for name in &failed {
                    push(&mut lines, format!("    {name}"));
                }
            }
            push(&mut lines, String::new());
            push(
                &mut lines,
                format!(
                    "test result: {}. {ok} passed; {} failed; {ignored} ignored; 0 measured; 0 filtered out; finished in {}.{:02}s",
                    if failed.is_empty() { "ok" } else { "FAILED" },
                    failed.len(),
                    r.below(20),
                    r.below(100)
                ),
            );
            push(&mut lines, String::new());
        }
        let gaps = lines.iter().map(|_| r.below(40) as u32).collect();
        BuildLog { lines, gaps }
    }

    fn render(&self, run: u64) -> String {
        let mut s = String::with_capacity(self.lines.iter().map(|l| l.len() + 26).sum());
        // Runs start 1.337 s apart, so no two runs share a timestamp on the same line.
        let mut ms = 12 * 3_600_000 + run * 1_337;
        for (line, gap) in self.lines.iter().zip(&self.gaps) {
            ms += u64::from(*gap);
            let t = ms % 86_400_000;
            let _ = writeln!(
                s,
                "2025-06-01T{:02}:{:02}:{:02}.{:03}Z {line}",
                t / 3_600_000,
                t / 60_000 % 60,
                t / 1000 % 60,
                t % 1000
            );
        }
        s
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A small request; the upstream writes its response's headers and body at once.
    PassThrough,
    /// The same; the upstream writes the headers, then the body (as Python's `http.server`
    /// and many servers do): a proxy that leaves Nagle's algorithm on stalls here.
    PassThroughSplit,
    /// A small streaming request; the upstream writes the headers, `message_start` at once,
    /// then text deltas at a set interval.
    Sse,
    Repeated,
    Fresh,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::PassThrough,
        Kind::PassThroughSplit,
        Kind::Sse,
        Kind::Repeated,
        Kind::Fresh,
    ];

    /// The name `--kinds` takes.
    fn flag(self) -> &'static str {
        match self {
            Kind::PassThrough => "once",
            Kind::PassThroughSplit => "split",
            Kind::Sse => "sse",
            Kind::Repeated => "repeated",
            Kind::Fresh => "fresh",
        }
    }

    fn name(self, args: &Args) -> String {
        let kb = (args.size as f64 / 1000.0).round();
        match self {
            Kind::PassThrough => "pass-through, upstream writes once".into(),
            Kind::PassThroughSplit => "pass-through, upstream writes headers then body".into(),
            Kind::Sse => format!(
                "SSE pass-through, {} deltas {} ms apart",
                args.sse_events,
                args.sse_interval.as_millis()
            ),
            Kind::Repeated => format!("{kb}KB tool result repeated"),
            Kind::Fresh => format!("{kb}KB tool result fresh"),
        }
    }
}

struct Payloads {
    small: Bytes,
    small_split: Bytes,
    small_stream: Bytes,
    repeated: Bytes,
    log: BuildLog,
    /// Run numbers of fresh bodies; shared by every target so that no two requests of the
    /// whole benchmark carry the same log.
    runs: AtomicU64,
}

impl Payloads {
    fn new(seed: u64, size: usize) -> Payloads {
        let small = |model: &str, stream: bool| {
            let v = serde_json::json!({
                "model": model,
                "max_tokens": 256,
                "stream": stream,
                "messages": [{"role": "user", "content": "Say hello in one word."}],
            });
            Bytes::from(serde_json::to_vec(&v).expect("JSON"))
        };
        let log = BuildLog::new(seed, size);
        let repeated = Bytes::from(tool_request(&log.render(0)));
        Payloads {
            small: small(MODEL, false),
            small_split: small(MODEL_SPLIT, false),
            small_stream: small(MODEL, true),
            repeated,
            log,
            runs: AtomicU64::new(1),
        }
    }

    fn body(&self, kind: Kind) -> Bytes {
        match kind {
            Kind::PassThrough => self.small.clone(),
            Kind::PassThroughSplit => self.small_split.clone(),
            Kind::Sse => self.small_stream.clone(),
            Kind::Repeated => self.repeated.clone(),
            Kind::Fresh => {
                let run = self.runs.fetch_add(1, Ordering::Relaxed);
                Bytes::from(tool_request(&self.log.render(run)))
            }
        }
    }
}

/// An agent turn: the model ran the tests with a Bash tool; the log comes back as its result.
fn tool_request(log: &str) -> Vec<u8> {
    let v = serde_json::json!({
        "model": MODEL,
        "max_tokens": 1024,
        "messages": [
            {"role": "user", "content": "Run the test suite and tell me what failed."},
            {"role": "assistant", "content": [
                {"type": "text", "text": "I'll run the tests."},
                {"type": "tool_use", "id": "toolu_01bench", "name": "Bash",
                 "input": {"command": "cargo test --workspace --locked 2>&1"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01bench", "content": log},
            ]},
        ],
    });
    serde_json::to_vec(&v).expect("JSON")
}

// ---------------------------------------------------------------------------------------------
// Mock upstream

/// The model named in requests whose response the mock writes in one piece.
const MODEL: &str = "claude-sonnet-4-5";
/// The model named in requests whose response headers and body the mock writes apart.
const MODEL_SPLIT: &str = "claude-sonnet-4-5-split";

const REPLY: &str = r#"{"id":"msg_01bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Two tests failed in app-store."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1200,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":9}}"#;

/// What the mock has been sent: shows whether and how much a proxy compressed.
#[derive(Default)]
struct Received {
    requests: AtomicU64,
    bytes: AtomicU64,
}

/// The instant SSE timestamps count from: the mock and the client share the process, so an
/// event can carry the moment it was written and the client subtract it from its arrival.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// How the SSE mock streams.
#[derive(Clone, Copy)]
struct SseShape {
    deltas: usize,
    interval: Duration,
}

/// The mock upstream: HTTP/1.1 on a plain socket, so that how the response is written (in one
/// write, headers and body apart, event by event) is under the benchmark's control. Its own
/// sockets have `TCP_NODELAY`, so that the baseline (`direct`) never waits on Nagle.
async fn start_mock(sse: SseShape) -> std::io::Result<(String, Arc<Received>)> {
    let seen = Arc::new(Received::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    epoch();
    let shared = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            let seen = shared.clone();
            tokio::spawn(async move {
                if let Err(e) = serve_mock(sock, seen, sse).await {
                    if e.kind() != std::io::ErrorKind::UnexpectedEof {
                        eprintln!("mock upstream: {e}");
                    }
                }
            });
        }
    });
    Ok((url, seen))
}

/// Answers the requests of one connection until the client closes it.
async fn serve_mock(
    mut sock: tokio::net::TcpStream,
    seen: Arc<Received>,
    sse: SseShape,
) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    sock.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        let Some(body) = read_request(&mut sock, &mut buf).await? else {
            return Ok(());
        };
        seen.requests.fetch_add(1, Ordering::Relaxed);
        seen.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if request["stream"] == true {
            stream_events(&mut sock, sse).await?;
            continue;
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_bench\r\ncontent-length: {}\r\n\r\n",
            REPLY.len()
        );
        if request["model"] == MODEL_SPLIT {
            sock.write_all(head.as_bytes()).await?;
            sock.write_all(REPLY.as_bytes()).await?;
        } else {
            sock.write_all(format!("{head}{REPLY}").as_bytes()).await?;
        }
    }
}

/// Reads one request (headers, then a `content-length` or chunked body) from `sock`, keeping
/// what follows it in `buf`; `None` when the client closed the connection between requests.
async fn read_request(
    sock: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    use tokio::io::AsyncReadExt;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    async fn more(sock: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
        let mut chunk = [0u8; 64 * 1024];
        let n = sock.read(&mut chunk).await?;
        buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if !more(sock, buf).await? {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            };
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':').map(str::trim))
            .map(str::to_string)
    };
    let mut at = head_end;
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let line_end = loop {
                if let Some(p) = buf[at..].windows(2).position(|w| w == b"\r\n") {
                    break at + p;
                }
                if !more(sock, buf).await? {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            };
            let size_text = String::from_utf8_lossy(&buf[at..line_end]).into_owned();
            let size_hex = size_text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad("chunk size"))?;
            let data = line_end + 2;
            while buf.len() < data + size + 2 {
                if !more(sock, buf).await? {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
            body.extend_from_slice(&buf[data..data + size]);
            at = data + size + 2;
            // Trailers are not sent by the clients measured here.
            if size == 0 {
                break;
            }
        }
    } else {
        let len: usize = header("content-length")
            .map(|v| v.parse().map_err(|_| bad("content-length")))
            .transpose()?
            .unwrap_or(0);
        while buf.len() < head_end + len {
            if !more(sock, buf).await? {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        body.extend_from_slice(&buf[head_end..head_end + len]);
        at = head_end + len;
    }
    buf.drain(..at);
    Ok(Some(body))
}

/// An Anthropic stream: the headers, `message_start` in a write of its own right after them,
/// `shape.deltas` text deltas `shape.interval` apart (each one chunk carrying the time it was
/// written, `t=NANOS`, in its text), then the closing events.
async fn stream_events(sock: &mut tokio::net::TcpStream, shape: SseShape) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    fn chunk(event: &str, data: &str) -> Vec<u8> {
        let e = format!("event: {event}\ndata: {data}\n\n");
        format!("{:x}\r\n{e}\r\n", e.len()).into_bytes()
    }
    sock.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nrequest-id: req_bench\r\ntransfer-encoding: chunked\r\n\r\n",
    )
    .await?;
    sock.write_all(&chunk(
        "message_start",
        r#"{"type":"message_start","message":{"id":"msg_01bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}"#,
    ))
    .await?;
    sock.write_all(&chunk(
        "content_block_start",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    ))
    .await?;
    let mut next = tokio::time::Instant::now();
    for _ in 0..shape.deltas {
        next += shape.interval;
        tokio::time::sleep_until(next).await;
        let t = epoch().elapsed().as_nanos();
        let data = format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"t={t} "}}}}"#
        );
        sock.write_all(&chunk("content_block_delta", &data)).await?;
    }
    let mut tail = chunk(
        "content_block_stop",
        r#"{"type":"content_block_stop","index":0}"#,
    );
    tail.extend(chunk(
        "message_delta",
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}"#,
    ));
    tail.extend(chunk("message_stop", r#"{"type":"message_stop"}"#));
    tail.extend_from_slice(b"0\r\n\r\n");
    sock.write_all(&tail).await
}

// ---------------------------------------------------------------------------------------------
// Processes under test

/// Reads `/proc` directly: the process ids of `root` and all its descendants (a peer may
/// run helpers, e.g. worker or embedding processes, whose memory is part of its cost).
fn process_tree(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(ppid) = stat_fields(pid).and_then(|f| f.get(1)?.parse::<u32>().ok()) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        if let Some(c) = children.get(&out[i]) {
            out.extend(c);
        }
        i += 1;
    }
    out
}

/// The fields of `/proc/PID/stat` after the command name (which may contain spaces):
/// index 0 is the state, 1 the parent's id, 11 and 12 user and system CPU time in ticks.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[derive(Clone, Copy, Serialize)]
struct Memory {
    /// Summed over the process tree.
    rss_mb: f64,
    /// Of which heap and other private memory...
    anon_mb: f64,
    /// ...and pages of the executable and libraries (clean: the kernel can drop them).
    file_mb: f64,
    /// Sum of each process's own peak: an upper bound on the tree's peak.
    hwm_mb: f64,
    processes: usize,
}

fn memory(root: u32) -> Memory {
    let pids = process_tree(root);
    let sum = |field| {
        pids.iter()
            .filter_map(|&p| status_kb(p, field))
            .sum::<u64>() as f64
            / 1024.0
    };
    Memory {
        rss_mb: sum("VmRSS:"),
        anon_mb: sum("RssAnon:"),
        file_mb: sum("RssFile:"),
        hwm_mb: sum("VmHWM:"),
        processes: pids.len(),
    }
}

/// CPU time of the process tree, in ms.
fn cpu_ms(root: u32, ticks_per_s: f64) -> f64 {
    process_tree(root)
        .iter()
        .filter_map(|&p| {
            let f = stat_fields(p)?;
            Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
        })
        .sum::<f64>()
        * 1000.0
        / ticks_per_s
}

/// Samples the resident memory of `pids` every 50 ms until stopped, for the largest value: the
/// process's VmHWM covers its whole life, this one phase.
struct RssSampler {
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<f64>,
}

impl RssSampler {
    fn start(pids: Vec<u32>) -> RssSampler {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut max = 0.0f64;
            loop {
                let kb: u64 = pids.iter().filter_map(|&p| status_kb(p, "VmRSS:")).sum();
                max = max.max(kb as f64 / 1024.0);
                if stopped.load(Ordering::Relaxed) {
                    return max;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        RssSampler { stop, task }
    }

    async fn finish(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or(f64::NAN)
    }
}

/// Busy and total jiffies of all CPUs, from `/proc/stat`.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<u64> = s
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4)?;
    Some((total - idle, total))
}

/// The share of the machine's CPU in use over the next second, before anything starts: this
/// benchmark shares the machine with whatever else runs, and other work shows up as latency
/// that no proxy added. (The load average reacts too slowly to tell.)
async fn cpu_busy_now() -> Option<f64> {
    let (b0, t0) = cpu_jiffies()?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (b1, t1) = cpu_jiffies()?;
    Some((b1 - b0) as f64 / (t1 - t0).max(1) as f64)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(mut cmd: Command, log: PathBuf) -> Result<Proc, String> {
        let f = File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let f2 = f.try_clone().map_err(|e| e.to_string())?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .spawn()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        Ok(Proc { child, log })
    }

    fn log_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    async fn wait_ready(&mut self, url: &str, limit: Duration) -> Result<Duration, String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "exited ({status}) before it was ready; its log ends:\n{}",
                    self.log_tail()
                ));
            }
            if let Ok(r) = client.get(url).send().await {
                if r.status().is_success() {
                    return Ok(start.elapsed());
                }
            }
            if start.elapsed() > limit {
                return Err(format!(
                    "not ready at {url} after {limit:?}; its log ends:\n{}",
                    self.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM first so that the proxy can take its helpers down with it; whatever is left
    /// of the tree after 10 s is killed.
    fn stop(mut self) {
        let pids = process_tree(self.child.id());
        let signal = |sig: &str, pid: u32| {
            let _ = Command::new("kill")
                .args([sig, &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        };
        signal("-TERM", self.child.id());
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in pids.into_iter().skip(1) {
            if Path::new(&format!("/proc/{pid}")).exists() {
                signal("-KILL", pid);
            }
        }
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

// ---------------------------------------------------------------------------------------------
// Measurement

#[derive(Clone, Copy, Default, Serialize)]
struct Latency {
    n: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    mean_ms: f64,
}

fn summarize(mut v: Vec<Duration>) -> Latency {
    if v.is_empty() {
        return Latency::default();
    }
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    // Nearest rank: p99 of 200 samples is the 198th, a sample that was actually observed.
    let rank = |p: f64| ms(v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]);
    Latency {
        n: v.len(),
        p50_ms: rank(0.50),
        p99_ms: rank(0.99),
        max_ms: ms(v[v.len() - 1]),
        mean_ms: v.iter().map(|d| ms(*d)).sum::<f64>() / v.len() as f64,
    }
}

#[derive(Default, Serialize)]
struct Errors {
    count: u64,
    samples: Vec<String>,
}

impl Errors {
    fn add(&mut self, e: String) {
        self.count += 1;
        if self.samples.len() < 5 && !self.samples.contains(&e) {
            self.samples.push(e);
        }
    }

    fn merge(&mut self, o: Errors) {
        self.count += o.count;
        for s in o.samples {
            if self.samples.len() < 5 && !self.samples.contains(&s) {
                self.samples.push(s);
            }
        }
    }
}

/// What one successful request showed.
struct Sent {
    headers: HeaderMap,
    /// For a stream: from sending the request to the first complete event.
    first_event: Option<Duration>,
    /// For a stream: for each timestamped event, from the mock writing it to its arrival.
    event_delays: Vec<Duration>,
}

/// The moment an event's `t=NANOS` text says the mock wrote it.
fn written_at(event: &[u8]) -> Option<Instant> {
    const TAG: &[u8] = b"\"text\":\"t=";
    let at = event.windows(TAG.len()).position(|w| w == TAG)? + TAG.len();
    let digits = event[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let nanos: u64 = std::str::from_utf8(&event[at..at + digits])
        .ok()?
        .parse()
        .ok()?;
    Some(epoch() + Duration::from_nanos(nanos))
}

/// One request, its response read to the end (a stream event by event, as it arrives).
async fn send(client: &reqwest::Client, url: &str, body: Bytes) -> Result<Sent, String> {
    let start = Instant::now();
    let mut resp = client
        .post(url)
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .header("x-api-key", "sk-ant-bench-0000")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let stream = headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let mut sent = Sent {
        headers,
        first_event: None,
        event_delays: Vec::new(),
    };
    let mut body = Vec::new();
    let mut scanned = 0;
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("{e:?}"))? {
        let now = Instant::now();
        body.extend_from_slice(&chunk);
        if !stream {
            continue;
        }
        while let Some(end) = body[scanned..].windows(2).position(|w| w == b"\n\n") {
            let event = &body[scanned..scanned + end];
            scanned += end + 2;
            sent.first_event.get_or_insert(now - start);
            if let Some(written) = written_at(event) {
                sent.event_delays
                    .push(now.saturating_duration_since(written));
            }
        }
    }
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(format!("HTTP {status}: {text}"));
    }
    Ok(sent)
}

/// Timings of a streamed kind, from the sequential phase.
#[derive(Clone, Copy, Default, Serialize)]
struct SseTimes {
    /// From sending the request to the first event.
    first_event: Latency,
    /// From the upstream writing a delta to the client reading it, over every delta.
    per_event: Latency,
    added_first_p50_ms: Option<f64>,
    added_first_p99_ms: Option<f64>,
    added_event_p50_ms: Option<f64>,
    added_event_p99_ms: Option<f64>,
}

#[derive(Serialize)]
struct Load {
    concurrency: usize,
    seconds: f64,
    requests: u64,
    req_per_s: f64,
    latency: Latency,
    /// CPU time of the proxy's process tree per request (none for `direct`).
    cpu_ms_per_req: Option<f64>,
}

#[derive(Serialize)]
struct KindResult {
    kind: String,
    request_bytes: usize,
    /// Mean body size the mock received during the sequential phase.
    upstream_bytes_avg: f64,
    /// The proxy's own response headers (`x-cinch-*`, `x-headroom-*`) on a probe request.
    proxy_headers: BTreeMap<String, String>,
    latency: Latency,
    /// For the streamed kind.
    sse: Option<SseTimes>,
    /// Largest resident memory of the proxy sampled while this kind ran.
    rss_max_mb: Option<f64>,
    added_p50_ms: Option<f64>,
    added_p99_ms: Option<f64>,
    load: Load,
    errors: Errors,
}

#[derive(Serialize)]
struct TargetResult {
    name: String,
    command: Option<String>,
    ready_after_s: Option<f64>,
    memory_idle: Option<Memory>,
    memory_end: Option<Memory>,
    /// The proxy's own statistics endpoint after the run, when it has one.
    stats: Option<serde_json::Value>,
    kinds: Vec<KindResult>,
    log: Option<String>,
    error: Option<String>,
}

struct Bench {
    args: Args,
    client: reqwest::Client,
    payloads: Arc<Payloads>,
    seen: Arc<Received>,
    ticks: f64,
}

impl Bench {
    async fn measure_kind(&self, base: &str, kind: Kind, pid: Option<u32>) -> KindResult {
        let url = format!("{base}/v1/messages");
        let sampler = pid.map(|p| RssSampler::start(process_tree(p)));
        let mut errors = Errors::default();
        let probe_body = self.payloads.body(kind);
        let request_bytes = probe_body.len();
        let mut proxy_headers = BTreeMap::new();
        match send(&self.client, &url, probe_body).await {
            Ok(sent) => {
                for (k, v) in &sent.headers {
                    let k = k.as_str();
                    if k.starts_with("x-cinch-") || k.starts_with("x-headroom-") {
                        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                        proxy_headers.insert(k.to_string(), v);
                    }
                }
            }
            Err(e) => errors.add(e),
        }
        for _ in 0..self.args.warmup {
            if let Err(e) = send(&self.client, &url, self.payloads.body(kind)).await {
                errors.add(e);
            }
        }

        let (req0, bytes0) = (
            self.seen.requests.load(Ordering::Relaxed),
            self.seen.bytes.load(Ordering::Relaxed),
        );
        let mut samples = Vec::with_capacity(self.args.n);
        let (mut first_events, mut event_delays) = (Vec::new(), Vec::new());
        let start = Instant::now();
        while samples.len() < self.args.n
            && (samples.len() < 10 || start.elapsed() < self.args.max_phase)
        {
            let body = self.payloads.body(kind);
            let t = Instant::now();
            match send(&self.client, &url, body).await {
                Ok(sent) => {
                    samples.push(t.elapsed());
                    first_events.extend(sent.first_event);
                    event_delays.extend(sent.event_delays);
                }
                Err(e) => {
                    errors.add(e);
                    if errors.count > 50 {
                        break;
                    }
                }
            }
        }
        let got = self.seen.requests.load(Ordering::Relaxed) - req0;
        let upstream_bytes_avg =
            (self.seen.bytes.load(Ordering::Relaxed) - bytes0) as f64 / got.max(1) as f64;
        let latency = summarize(samples);
        let sse = (kind == Kind::Sse).then(|| SseTimes {
            first_event: summarize(first_events),
            per_event: summarize(event_delays),
            ..SseTimes::default()
        });

        let cpu0 = pid.map(|p| cpu_ms(p, self.ticks));
        let deadline = Instant::now() + self.args.duration;
        let start = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..self.args.concurrency {
            let (client, payloads, url) = (self.client.clone(), self.payloads.clone(), url.clone());
            workers.spawn(async move {
                let mut lat = Vec::new();
                let mut errors = Errors::default();
                while Instant::now() < deadline {
                    let body = payloads.body(kind);
                    let t = Instant::now();
                    match send(&client, &url, body).await {
                        Ok(_) => lat.push(t.elapsed()),
                        Err(e) => errors.add(e),
                    }
                }
                (lat, errors)
            });
        }
        let mut lat = Vec::new();
        while let Some(r) = workers.join_next().await {
            let (l, e) = r.expect("a load worker panicked");
            lat.extend(l);
            errors.merge(e);
        }
        let seconds = start.elapsed().as_secs_f64();
        let requests = lat.len() as u64;
        let cpu_ms_per_req = pid
            .zip(cpu0)
            .map(|(p, c0)| (cpu_ms(p, self.ticks) - c0) / requests.max(1) as f64);
        let rss_max_mb = match sampler {
            Some(s) => Some(s.finish().await),
            None => None,
        };
        KindResult {
            kind: kind.name(&self.args),
            request_bytes,
            upstream_bytes_avg,
            proxy_headers,
            latency,
            sse,
            rss_max_mb,
            added_p50_ms: None,
            added_p99_ms: None,
            load: Load {
                concurrency: self.args.concurrency,
                seconds,
                requests,
                req_per_s: requests as f64 / seconds,
                latency: summarize(lat),
                cpu_ms_per_req,
            },
            errors,
        }
    }

    async fn measure_direct(&self, upstream: &str) -> TargetResult {
        let mut kinds = Vec::new();
        for &kind in &self.args.kinds {
            eprintln!("direct: {}", kind.name(&self.args));
            kinds.push(self.measure_kind(upstream, kind, None).await);
        }
        TargetResult {
            name: "direct".into(),
            command: None,
            ready_after_s: None,
            memory_idle: None,
            memory_end: None,
            stats: None,
            kinds,
            log: None,
            error: None,
        }
    }

    async fn measure_proc(
        &self,
        name: &str,
        cmd: Command,
        shown: String,
        ready: &str,
        stats: Option<&str>,
        port: u16,
    ) -> TargetResult {
        let mut result = TargetResult {
            name: name.into(),
            command: Some(shown),
            ready_after_s: None,
            memory_idle: None,
            memory_end: None,
            stats: None,
            kinds: Vec::new(),
            log: None,
            error: None,
        };
        let log = self.args.log_dir.join(format!("{name}.log"));
        result.log = Some(log.display().to_string());
        let mut proc = match Proc::spawn(cmd, log) {
            Ok(p) => p,
            Err(e) => {
                result.error = Some(e);
                return result;
            }
        };
        let base = format!("http://127.0.0.1:{port}");
        eprintln!("{name}: waiting for {base}{ready}");
        match proc
            .wait_ready(&format!("{base}{ready}"), Duration::from_secs(180))
            .await
        {
            Ok(d) => result.ready_after_s = Some(d.as_secs_f64()),
            Err(e) => {
                eprintln!("{name}: {e}");
                result.error = Some(e);
                proc.stop();
                return result;
            }
        }
        tokio::time::sleep(self.args.settle).await;
        let pid = proc.child.id();
        result.memory_idle = Some(memory(pid));
        for &kind in &self.args.kinds {
            eprintln!("{name}: {}", kind.name(&self.args));
            result
                .kinds
                .push(self.measure_kind(&base, kind, Some(pid)).await);
        }
        result.memory_end = Some(memory(pid));
        if let Some(path) = stats {
            let got = self.client.get(format!("{base}{path}")).send().await;
            if let Ok(r) = got {
                result.stats = r.json().await.ok();
            }
        }
        if let Ok(Some(status)) = proc.child.try_wait() {
            result.error = Some(format!("exited during the run ({status})"));
        }
        proc.stop();
        result
    }
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.filter(|x| x.is_finite())
        .map_or_else(|| "–".into(), |x| format!("{x:.digits$}"))
}

/// The streamed kind's timings, when it ran.
fn sse_table(results: &[TargetResult]) -> String {
    let mut s = String::new();
    for t in results {
        for k in &t.kinds {
            let Some(x) = &k.sse else { continue };
            if s.is_empty() {
                let _ = writeln!(
                    s,
                    "\n| target | kind | first event p50 ms | p99 ms | added p50 ms | added p99 ms | per-event delay p50 ms | p99 ms | added p50 ms | added p99 ms | events |"
                );
                let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            }
            let _ = writeln!(
                s,
                "| {} | {} | {:.3} | {:.3} | {} | {} | {:.3} | {:.3} | {} | {} | {} |",
                t.name,
                k.kind,
                x.first_event.p50_ms,
                x.first_event.p99_ms,
                fmt_opt(x.added_first_p50_ms, 3),
                fmt_opt(x.added_first_p99_ms, 3),
                x.per_event.p50_ms,
                x.per_event.p99_ms,
                fmt_opt(x.added_event_p50_ms, 3),
                fmt_opt(x.added_event_p99_ms, 3),
                x.per_event.n,
            );
        }
    }
    s
}

fn table(args: &Args, results: &[TargetResult]) -> String {
    let mut s = String::new();
    let c = args.concurrency;
    let _ = writeln!(
        s,
        "| target | kind | p50 ms | p99 ms | added p50 ms | added p99 ms | req/s (C={c}) | CPU ms/req | upstream KB/req | RSS idle MB | RSS max MB | RSS peak MB | errors |"
    );
    let _ = writeln!(
        s,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for t in results {
        if let Some(e) = &t.error {
            if t.kinds.is_empty() {
                let first = e.lines().next().unwrap_or_default();
                let _ = writeln!(s, "| {} | failed: {first} ||||||||||||", t.name);
                continue;
            }
        }
        for k in &t.kinds {
            let _ = writeln!(
                s,
                "| {} | {} | {:.3} | {:.3} | {} | {} | {:.0} | {} | {:.1} | {} | {} | {} | {} |",
                t.name,
                k.kind,
                k.latency.p50_ms,
                k.latency.p99_ms,
                fmt_opt(k.added_p50_ms, 3),
                fmt_opt(k.added_p99_ms, 3),
                k.load.req_per_s,
                fmt_opt(k.load.cpu_ms_per_req, 2),
                k.upstream_bytes_avg / 1000.0,
                fmt_opt(t.memory_idle.map(|m| m.rss_mb), 1),
                fmt_opt(k.rss_max_mb, 1),
                fmt_opt(t.memory_end.map(|m| m.hwm_mb), 1),
                k.errors.count,
            );
        }
    }
    s
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&args.log_dir) {
        eprintln!("cannot create {}: {e}", args.log_dir.display());
        std::process::exit(2);
    }
    let shape = SseShape {
        deltas: args.sse_events,
        interval: args.sse_interval,
    };
    let (upstream, seen) = start_mock(shape)
        .await
        .expect("cannot start the mock upstream");
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(args.concurrency + 4)
        // Below uvicorn's 5 s keep-alive: a connection the server may already have closed is
        // never reused, which would show up as a spurious error.
        .pool_idle_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(120))
        .build()
        .expect("cannot build the HTTP client");
    let payloads = Arc::new(Payloads::new(args.seed, args.size));
    let bench = Bench {
        client,
        payloads,
        seen,
        ticks: clock_ticks(),
        args,
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!(
        "mock upstream at {upstream}; tool output {} bytes, request {} bytes; {cores} cores",
        bench.payloads.log.render(0).len(),
        bench.payloads.repeated.len()
    );

    let busy_before = cpu_busy_now().await;
    let mut results = vec![bench.measure_direct(&upstream).await];
    if let Some(path) = &bench.args.cinch {
        let port = free_port().expect("no free port");
        let mut cmd = Command::new(path);
        let store = &bench.args.cinch_store;
        cmd.args(["proxy", "--port", &port.to_string()]).args([
            "--anthropic-upstream",
            &upstream,
            "--store",
            store,
        ]);
        let shown = format!(
            "{} proxy --port {port} --anthropic-upstream {upstream} --store {store}",
            path.display()
        );
        results.push(
            bench
                .measure_proc("cinch", cmd, shown, "/healthz", Some("/stats"), port)
                .await,
        );
    }
    if let Some(peer) = &bench.args.peer_cmd {
        let port = free_port().expect("no free port");
        let line = peer
            .replace("{port}", &port.to_string())
            .replace("{upstream}", &upstream);
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(format!("exec {line}"));
        let name = bench.args.peer_name.clone();
        let ready = bench.args.peer_ready.clone();
        let stats = bench.args.peer_stats.clone();
        results.push(
            bench
                .measure_proc(&name, cmd, line, &ready, stats.as_deref(), port)
                .await,
        );
    }

    let baseline: Vec<(Latency, Option<SseTimes>)> = results[0]
        .kinds
        .iter()
        .map(|k| (k.latency, k.sse))
        .collect();
    for t in results.iter_mut().skip(1) {
        for (k, (b, b_sse)) in t.kinds.iter_mut().zip(&baseline) {
            k.added_p50_ms = Some(k.latency.p50_ms - b.p50_ms);
            k.added_p99_ms = Some(k.latency.p99_ms - b.p99_ms);
            if let (Some(s), Some(b)) = (k.sse.as_mut(), b_sse) {
                s.added_first_p50_ms = Some(s.first_event.p50_ms - b.first_event.p50_ms);
                s.added_first_p99_ms = Some(s.first_event.p99_ms - b.first_event.p99_ms);
                s.added_event_p50_ms = Some(s.per_event.p50_ms - b.per_event.p50_ms);
                s.added_event_p99_ms = Some(s.per_event.p99_ms - b.per_event.p99_ms);
            }
        }
    }

    let a = &bench.args;
    println!(
        "\nproxy_bench: sequential n={} (warm-up {}), load C={} for {:?}, tool output ~{} B, {cores} cores\n",
        a.n, a.warmup, a.concurrency, a.duration, a.size
    );
    print!("{}", table(a, &results));
    print!("{}", sse_table(&results));
    if let Some(b) = busy_before {
        println!(
            "\nCPU in use by other work just before the run: {:.0}%{}",
            b * 100.0,
            if b > 0.1 {
                ": expect noisy percentiles"
            } else {
                ""
            }
        );
    }
    println!(
        "\nadded = target percentile - direct percentile of the same kind. RSS is summed over the \
         proxy's process tree: idle = after start, max = largest sampled while that kind ran, \
         peak = VmHWM at the end."
    );
    for t in &results {
        if let (Some(i), Some(e)) = (t.memory_idle, t.memory_end) {
            println!(
                "{}: RSS idle {:.1} MB (anon {:.1}, file {:.1}), end {:.1} MB (anon {:.1}, file {:.1}), {} process(es), ready after {:.1} s",
                t.name, i.rss_mb, i.anon_mb, i.file_mb, e.rss_mb, e.anon_mb, e.file_mb,
                e.processes, t.ready_after_s.unwrap_or(f64::NAN)
            );
        }
        if let Some(store) = t.stats.as_ref().and_then(|s| s.get("store")) {
            println!("{} store after the run: {store}", t.name);
        }
    }
    for t in &results {
        if let Some(e) = &t.error {
            println!("\n{} error: {e}", t.name);
        }
        for k in &t.kinds {
            if !k.proxy_headers.is_empty() {
                let h: Vec<String> = k
                    .proxy_headers
                    .iter()
                    .map(|(n, v)| format!("{n}: {v}"))
                    .collect();
                println!("{} / {}: {}", t.name, k.kind, h.join(", "));
            }
            for e in &k.errors.samples {
                println!("{} / {} error: {e}", t.name, k.kind);
            }
        }
    }
    if let Some(path) = &a.json {
        let out = serde_json::json!({
            "config": {
                "n": a.n, "warmup": a.warmup, "concurrency": a.concurrency,
                "duration_s": a.duration.as_secs_f64(), "size": a.size, "seed": a.seed,
                "cores": cores, "upstream": upstream,
                "kinds": a.kinds.iter().map(|k| k.flag()).collect::<Vec<_>>(),
                "sse_events": a.sse_events, "sse_interval_ms": a.sse_interval.as_millis() as u64,
                "cpu_busy_before": busy_before,
            },
            "targets": results,
        });
        match serde_json::to_vec_pretty(&out).map(|b| std::fs::write(path, b)) {
            Ok(Ok(())) => eprintln!("wrote {}", path.display()),
            Ok(Err(e)) => eprintln!("cannot write {}: {e}", path.display()),
            Err(e) => eprintln!("cannot serialise the results: {e}"),
        }
    }
}
