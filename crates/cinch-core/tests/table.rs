//! The table compressor on listings: real ones captured on a development machine (`ps aux`
//! and `ps -ef` with COLUMNS=180, `top -bn1 -w 160`, `df -ha`, `dpkg -l`, `pip list -v`,
//! `ls -l /usr/bin`, `ls -la /etc`, `ls -laR` of a copy of `/usr/share/perl5`, `dpkg-query`
//! written as CSV with multi-line descriptions, Go's `juju.tsv` and `zip_sums.csv` test data),
//! trimmed, each with an anomaly planted (a process at 97.3 % CPU and a zombie, a half-installed
//! package, a setuid world-writable file, a world-writable `shadow`, a 2 GB core dump, a
//! package far larger than the rest, a dependency on Mercurial among git ones); and generated
//! ones for tools not installed there (`kubectl get pods`, `docker ps -a`, `ss -tan`,
//! `netstat -tan`, `go.sum`, a `;`-separated bank export, a Markdown table, `psql` output).
//!
//! Per listing: detected as a table; the anomaly visible without a query; the answer visible
//! with one; the budget held at 200, 500 and 2 000 tokens and used; every line recoverable (the
//! stored entry's original is the input, byte for byte, and what is shown is the input's).

use cinch_core::ccr::entry;
use cinch_core::ccr::search::Items;
use cinch_core::ccr::{MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::query::Query;
use cinch_core::{compress, Key, Kind, Options, Report, Store};

/// One listing and what must be visible in it.
struct Case {
    name: &'static str,
    text: String,
    /// Visible without a query at every budget (the first at 200, all from 500).
    anomalies: Vec<&'static str>,
    query: &'static str,
    answer: &'static str,
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A small deterministic generator (64-bit LCG), so generated listings are the same each run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

/// Rows laid out the way `kubectl` and `docker` do: each column as wide as its widest cell,
/// three spaces between columns, trailing spaces trimmed.
fn columns(rows: &[Vec<String>]) -> String {
    let n = rows[0].len();
    let width: Vec<usize> = (0..n)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap())
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = (0..n)
            .map(|c| format!("{:<w$}", r[c], w = width[c]))
            .collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}

fn kubectl() -> String {
    let mut g = Rng(7);
    let mut rows = vec![["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        .map(String::from)
        .to_vec()];
    let spaces = ["default", "kube-system", "monitoring", "payments"];
    let apps = ["web", "api", "worker", "cache"];
    for i in 0..120 {
        let name = format!(
            "{}-{:08x}-{:05x}",
            apps[i % 4],
            g.below(1 << 32),
            g.below(1 << 20)
        );
        let (ready, status, restarts) = match i {
            77 => ("0/1", "CrashLoopBackOff", "57 (2m ago)".to_string()),
            _ => ("1/1", "Running", "0".to_string()),
        };
        let age = format!("{}d", 1 + g.below(30));
        rows.push(vec![
            spaces[i % 4].into(),
            name,
            ready.into(),
            status.into(),
            restarts,
            age,
        ]);
    }
    columns(&rows)
}

fn docker() -> String {
    let mut g = Rng(11);
    let mut rows = vec![[
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ]
    .map(String::from)
    .to_vec()];
    let images = [
        (
            "nginx:1.25",
            "\"/docker-entrypoint.…\"",
            "0.0.0.0:80->80/tcp",
        ),
        ("redis:7", "\"docker-entrypoint.s…\"", "6379/tcp"),
        ("postgres:16", "\"docker-entrypoint.s…\"", "5432/tcp"),
        (
            "grafana/grafana:10.2.0",
            "\"/run.sh\"",
            "0.0.0.0:3000->3000/tcp",
        ),
    ];
    for i in 0..90 {
        let (image, command, ports) = images[i % 4];
        let (status, ports) = match i {
            50 => ("Exited (137) 5 hours ago".to_string(), ""),
            _ => (format!("Up {} days", 2 + g.below(8)), ports),
        };
        let short = image.split([':', '/']).next().unwrap();
        rows.push(vec![
            format!("{:012x}", g.below(1 << 48)),
            image.into(),
            command.into(),
            format!("{} days ago", 2 + g.below(8)),
            status,
            ports.into(),
            format!("{short}-{i}"),
        ]);
    }
    columns(&rows)
}

fn ss() -> String {
    let mut g = Rng(3);
    let mut out =
        String::from("State      Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n");
    for i in 0..150 {
        let (state, recv) = match i {
            99 => ("CLOSE-WAIT", "4194304"),
            _ => (["ESTAB", "TIME-WAIT", "ESTAB", "LISTEN"][i % 4], "0"),
        };
        let local = format!("10.0.0.5:{}", [443, 80, 5432, 6379][i % 4]);
        let peer = match state {
            "LISTEN" => "0.0.0.0:*".to_string(),
            _ => format!(
                "10.0.{}.{}:{}",
                1 + g.below(9),
                2 + g.below(248),
                30000 + g.below(30000)
            ),
        };
        out.push_str(&format!(
            "{state:<10} {recv:<6} {:<6} {local:>18} {peer:>18}\n",
            0
        ));
    }
    out
}

fn netstat() -> String {
    let mut g = Rng(5);
    let mut out = String::from("Active Internet connections (servers and established)\nProto Recv-Q Send-Q Local Address           Foreign Address         State      \n");
    for i in 0..150 {
        let state = match i {
            99 => "SYN_RECV",
            _ => ["ESTABLISHED", "TIME_WAIT", "ESTABLISHED", "LISTEN"][i % 4],
        };
        let local = format!("10.0.0.5:{}", [443, 80, 5432, 6379][i % 4]);
        let peer = match state {
            "LISTEN" => "0.0.0.0:*".to_string(),
            _ => format!(
                "10.0.{}.{}:{}",
                1 + g.below(9),
                2 + g.below(248),
                30000 + g.below(30000)
            ),
        };
        out.push_str(&format!(
            "tcp        0      0 {local:<23} {peer:<23} {state:<11}\n"
        ));
    }
    out
}

fn go_sum() -> String {
    let mut g = Rng(13);
    let modules = [
        "github.com/stretchr/testify",
        "golang.org/x/net",
        "golang.org/x/sys",
        "golang.org/x/text",
        "github.com/davecgh/go-spew",
        "gopkg.in/yaml.v3",
        "github.com/pmezard/go-difflib",
        "google.golang.org/protobuf",
        "github.com/google/go-cmp",
        "github.com/spf13/cobra",
    ];
    let b64 = |g: &mut Rng| -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let s: String = (0..43).map(|_| A[g.below(64) as usize] as char).collect();
        s + "="
    };
    let mut out = String::new();
    for m in modules {
        for v in 0..8 {
            let version = format!("v0.{}.{v}", v * 3 + 1);
            out.push_str(&format!("{m} {version} h1:{}\n", b64(&mut g)));
            out.push_str(&format!("{m} {version}/go.mod h1:{}\n", b64(&mut g)));
        }
    }
    out
}

fn bank_csv() -> String {
    let mut g = Rng(17);
    let mut out = String::from("datum;konto;betrag;waehrung;status\n");
    for i in 0..200 {
        let (amount, status) = match i {
            140 => ("-98.450,00".to_string(), "storniert"),
            _ => (
                format!("{},{:02}", 1 + g.below(400), g.below(100)),
                "gebucht",
            ),
        };
        out.push_str(&format!(
            "2024-03-{:02};DE{:018};{amount};EUR;{status}\n",
            i % 28 + 1,
            g.below(1_000_000_000_000_000_000)
        ));
    }
    out
}

fn markdown() -> String {
    let mut g = Rng(19);
    let mut out =
        String::from("| test | result | duration_ms |\n|------|--------|------------:|\n");
    for i in 0..150 {
        let result = if i == 88 { "FAIL" } else { "pass" };
        out.push_str(&format!(
            "| test_case_{i:03} | {result} | {} |\n",
            3 + g.below(38)
        ));
    }
    out
}

fn psql() -> String {
    let mut g = Rng(23);
    let mut out = String::from(
        " id  |   name    | status  | balance \n-----+-----------+---------+---------\n",
    );
    for i in 0..150 {
        let status = if i == 66 { "locked" } else { "active" };
        out.push_str(&format!(
            " {:>3} | user{i:<5} | {status:<7} | {:>7}\n",
            i + 1,
            10 + g.below(990)
        ));
    }
    out.push_str("(150 rows)\n");
    out
}

fn cases() -> Vec<Case> {
    let s = |name: &'static str, anomalies: Vec<&'static str>, query, answer| Case {
        name,
        text: sample(name),
        anomalies,
        query,
        answer,
    };
    let g = |name: &'static str, text: String, anomalies: Vec<&'static str>, query, answer| Case {
        name,
        text,
        anomalies,
        query,
        answer,
    };
    vec![
        s(
            "table_ps_aux.txt",
            vec!["[sh] <defunct>", "48213 97.3"],
            "what is /dev/fd/3 doing, pid 6198",
            "6198  0.0",
        ),
        s(
            "table_ps_ef.txt",
            vec!["autovacuum worker"],
            "kswapd0",
            "[kswapd0]",
        ),
        s("table_top.txt", vec!["30511 root"], "python3", "23646 root"),
        s(
            "table_df.txt",
            vec!["100% /data"],
            "cgroup memory",
            "/sys/fs/cgroup/memory",
        ),
        s(
            "table_dpkg.txt",
            vec!["iU  libssl3", "rc  libsqlite3-dev", "rc  libx11-dev"],
            "openssl",
            "ii  openssl ",
        ),
        s(
            "table_pip_list.txt",
            vec!["/root/.local/lib/python3.11/site-packages"],
            "lazy-object-proxy version",
            "lazy-object-proxy ",
        ),
        s(
            "table_ls_l.txt",
            vec!["-rwsrwxrwx"],
            "llvm-link",
            " llvm-link ->",
        ),
        s(
            "table_ls_la.txt",
            vec!["-rw-rw-rw-  1 root     shadow"],
            "login.defs",
            "login.defs",
        ),
        s(
            "table_ls_laR.txt",
            vec!["perl5/Debconf/Element/Web:\n", " core\n"],
            "AddonAPI.pm",
            "AddonAPI.pm",
        ),
        s(
            "table_packages.csv",
            vec!["libcudnn9-cuda-12"],
            "libgles2",
            "libgles2,",
        ),
        s(
            "table_deps.tsv",
            vec!["go-jsval\thg"],
            "go-pdebug",
            "go-pdebug\tgit",
        ),
        s(
            "table_zip_sums.csv",
            vec![],
            "github.com/OneOfOne/xxhash",
            "OneOfOne/xxhash,v1.2.5",
        ),
        g(
            "kubectl",
            kubectl(),
            vec!["CrashLoopBackOff"],
            "worker pods in monitoring",
            "monitoring    worker-",
        ),
        g(
            "docker",
            docker(),
            vec!["Exited (137)"],
            "grafana-15",
            "grafana-15",
        ),
        g(
            "ss",
            ss(),
            vec!["CLOSE-WAIT 4194304"],
            "10.0.0.5:5432",
            "10.0.0.5:5432",
        ),
        g(
            "netstat",
            netstat(),
            vec!["SYN_RECV"],
            "port 6379 LISTEN",
            ":6379           0.0.0.0:*",
        ),
        g(
            "go.sum",
            go_sum(),
            vec![],
            "go-difflib v0.10.3",
            "go-difflib v0.10.3 h1:",
        ),
        g(
            "bank.csv",
            bank_csv(),
            vec!["storniert"],
            "2024-03-17",
            "2024-03-17;",
        ),
        g(
            "markdown",
            markdown(),
            vec!["| FAIL |"],
            "test_case_123",
            "test_case_123 |",
        ),
        g("psql", psql(), vec!["| locked"], "user42", "user42 "),
    ]
}

fn run(text: &str, query: &str, budget: usize) -> (Report, MemoryStore) {
    let store = MemoryStore::default();
    let r = compress(
        text,
        &Options {
            query: query.into(),
            budget,
            ..Options::default()
        },
        &store,
    );
    (r, store)
}

/// The stored entry behind the report's marker.
fn stored(r: &Report, store: &MemoryStore) -> Vec<u8> {
    let key = Key::parse(&r.ccr_keys[0]).unwrap();
    store.get(DEFAULT_NAMESPACE, &key).unwrap()
}

#[test]
fn detected_as_tables() {
    for c in cases() {
        let kind = cinch_core::detect::detect(&c.text).kind;
        assert_eq!(kind, Kind::Table, "{}", c.name);
    }
}

#[test]
fn what_stands_out_is_visible_without_a_query() {
    for c in cases() {
        for budget in [200, 500, 2000] {
            let (r, _) = run(&c.text, "", budget);
            let must: &[&str] = if budget == 200 {
                &c.anomalies[..c.anomalies.len().min(1)]
            } else {
                &c.anomalies
            };
            for a in must {
                assert!(
                    r.output.contains(a),
                    "{} at {budget}: {a:?} not visible\n{}",
                    c.name,
                    r.output
                );
            }
        }
    }
}

#[test]
fn the_answer_is_visible_with_a_query() {
    for c in cases() {
        for budget in [200, 500, 2000] {
            let (r, _) = run(&c.text, c.query, budget);
            assert!(
                r.output.contains(c.answer),
                "{} at {budget}, query {:?}: {:?} not visible\n{}",
                c.name,
                c.query,
                c.answer,
                r.output
            );
        }
    }
}

#[test]
fn the_budget_is_held_and_used() {
    for c in cases() {
        for budget in [200, 500, 2000] {
            for query in ["", c.query] {
                let (r, _) = run(&c.text, query, budget);
                assert!(
                    r.tokens_after <= budget,
                    "{} at {budget}: {} tokens",
                    c.name,
                    r.tokens_after
                );
                if r.tokens_before > budget {
                    assert_eq!(r.strategy, "rows", "{}: {:?}", c.name, r.reason);
                    assert!(
                        r.tokens_after * 10 >= budget * 6,
                        "{} at {budget}: only {} tokens used",
                        c.name,
                        r.tokens_after
                    );
                } else {
                    assert_eq!(r.output, c.text, "{} fits and passes through", c.name);
                }
            }
        }
    }
}

#[test]
fn every_line_is_recoverable() {
    for c in cases() {
        for budget in [200, 2000] {
            let (r, store) = run(&c.text, "", budget);
            if r.tokens_before <= budget {
                continue;
            }
            let bytes = stored(&r, &store);
            let e = entry::decode(&bytes).unwrap();
            assert_eq!(
                e.original,
                c.text.as_bytes(),
                "{}: the whole original",
                c.name
            );
            assert_eq!(e.header.kind, "table");
            // What the entry says stayed visible is in the output, byte for byte and in order.
            let lines: Vec<&str> = c.text.split_inclusive('\n').collect();
            let mut at = 0;
            for &(s, t) in &e.header.kept {
                for line in &lines[s..t] {
                    let found = r.output[at..].find(line.trim_end_matches('\n'));
                    let found = found.unwrap_or_else(|| panic!("{}: {line:?} not shown", c.name));
                    at += found + line.trim_end_matches('\n').len();
                }
            }
            // The rest is what `retrieve --dropped` gives back: together, every line.
            let items = Items::of_entry(&e).unwrap();
            let kept: usize = e.header.kept.iter().map(|(s, t)| t - s).sum();
            assert_eq!(items.dropped(&e).len() + kept, items.len(), "{}", c.name);
        }
    }
}

#[test]
fn a_dropped_row_is_found_by_a_query_to_the_stored_original() {
    // `ls -laR` with a question about another file: the core dump may not be shown, but the
    // stored original answers `retrieve KEY --query core`.
    let text = sample("table_ls_laR.txt");
    let (r, store) = run(&text, "AddonAPI.pm", 200);
    let bytes = stored(&r, &store);
    let e = entry::decode(&bytes).unwrap();
    let items = Items::of_entry(&e).unwrap();
    let hits = items.matching(&Query::parse("core"));
    assert!(
        hits.iter().any(|&i| items.items[i].ends_with(" core")),
        "{:?}",
        hits.iter().map(|&i| &items.items[i]).collect::<Vec<_>>()
    );
    let (r, store) = run(&sample("table_dpkg.txt"), "", 200);
    let bytes = stored(&r, &store);
    let e = entry::decode(&bytes).unwrap();
    let items = Items::of_entry(&e).unwrap();
    let hits = items.matching(&Query::parse("openssl"));
    assert!(hits
        .iter()
        .any(|&i| items.items[i].starts_with("ii  openssl ")));
}

/// Where the generic line compressor (what tables got before) misses what stands out, the table
/// compressor shows it: of these listings at 500 tokens, lines shows the anomalies of few.
#[test]
fn shows_what_the_line_compressor_misses() {
    let (mut lines_saw, mut table_saw, mut total) = (0, 0, 0);
    for c in cases().into_iter().filter(|c| !c.anomalies.is_empty()) {
        let store = MemoryStore::default();
        let as_lines = compress(
            &c.text,
            &Options {
                budget: 500,
                kind: Some(Kind::Lines),
                ..Options::default()
            },
            &store,
        );
        let (as_table, _) = run(&c.text, "", 500);
        let all = |out: &str| c.anomalies.iter().all(|a| out.contains(a));
        total += 1;
        lines_saw += usize::from(all(&as_lines.output));
        table_saw += usize::from(all(&as_table.output));
    }
    assert_eq!(table_saw, total);
    assert!(lines_saw * 2 < total, "lines saw {lines_saw} of {total}");
}

fn snapshot(text: &str, query: &str, budget: usize) -> String {
    let (r, _) = run(text, query, budget);
    assert_eq!(r.kind, Kind::Table);
    format!(
        "tokens {} -> {} (budget {budget})\n{}",
        r.tokens_before, r.tokens_after, r.output
    )
}

#[test]
fn snapshot_ps_aux() {
    insta::assert_snapshot!(snapshot(&sample("table_ps_aux.txt"), "", 500));
}

#[test]
fn snapshot_dpkg_with_a_query() {
    insta::assert_snapshot!(snapshot(
        &sample("table_dpkg.txt"),
        "is openssl installed?",
        500
    ));
}

#[test]
fn snapshot_ls_recursive() {
    insta::assert_snapshot!(snapshot(&sample("table_ls_laR.txt"), "", 500));
}

#[test]
fn snapshot_csv_with_multiline_fields() {
    insta::assert_snapshot!(snapshot(&sample("table_packages.csv"), "", 500));
}

#[test]
fn snapshot_kubectl() {
    insta::assert_snapshot!(snapshot(&kubectl(), "", 300));
}

#[test]
fn snapshot_top() {
    insta::assert_snapshot!(snapshot(&sample("table_top.txt"), "", 500));
}

mod property {
    use super::*;
    use proptest::prelude::*;

    /// A table: a header and rows of `cols` columns, each cell a word, a number or a category,
    /// joined by `sep` (spaces aligned, or a delimiter), maybe a multi-line quoted CSV cell.
    fn table() -> impl Strategy<Value = String> {
        let cell = prop_oneof![
            "[a-z]{1,8}",
            "[0-9]{1,6}",
            "(ok|fail|Running|ii|rc|-rw-r--r--|drwxr-xr-x)",
            "[A-Za-z0-9_./:-]{1,16}",
            "[ -~]{0,12}",
        ];
        let row = proptest::collection::vec(cell, 2..7);
        (
            proptest::collection::vec(row, 3..120),
            prop_oneof![
                Just(" "),
                Just("  "),
                Just(","),
                Just("\t"),
                Just(";"),
                Just(" | ")
            ],
            any::<bool>(),
        )
            .prop_map(|(rows, sep, quoted)| {
                let mut out = String::new();
                let cols = rows[0].len();
                let header: Vec<String> = (0..cols)
                    .map(|c| format!("COL{}", (b'A' + c as u8) as char))
                    .collect();
                out.push_str(&header.join(sep));
                out.push('\n');
                for (i, r) in rows.iter().enumerate() {
                    let mut cells: Vec<String> = r.clone();
                    if quoted && sep == "," && i % 7 == 3 {
                        cells.push("\"two\nlines, with a comma\"".into());
                    }
                    out.push_str(&cells.join(sep));
                    out.push('\n');
                }
                out
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn held_to_the_budget_and_stored_whole(text in table(), budget in 200usize..3000) {
            let store = MemoryStore::default();
            let r = compress(&text, &Options { budget, kind: Some(Kind::Table), ..Options::default() }, &store);
            prop_assert!(r.tokens_after <= budget, "{} > {budget}", r.tokens_after);
            if r.strategy == "passthrough" {
                prop_assert_eq!(&r.output, &text);
            } else {
                let bytes = stored(&r, &store);
                let e = entry::decode(&bytes).unwrap();
                prop_assert_eq!(e.original, text.as_bytes());
            }
        }
    }
}

/// Inputs no table looks like, forced through the table compressor: each compresses within the
/// budget or passes through, without a panic (the router would hide it as an "internal
/// error") and without time growing faster than the input.
#[test]
fn hostile_inputs() {
    let header = "USER PID STAT COMMAND\n";
    let inputs: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("blank lines", "\n \n\t\n".repeat(2000)),
        ("one huge line", "x".repeat(2_000_000) + "\n"),
        ("one huge line, no newline", "word ".repeat(300_000)),
        ("stray quotes", "a,b,\"c\n".repeat(20_000)),
        ("quotes only", "\"".repeat(200_000)),
        (
            "control bytes",
            (0..20_000)
                .map(|i| format!("{i}\t\u{0}\u{1}\u{7f} é 😀 {i}\n"))
                .collect(),
        ),
        ("pipes", "| | |\n|---|---|\n".repeat(5000)),
        (
            "huge cells",
            header.to_string() + &format!("root 1 S {}\n", "y".repeat(100_000)).repeat(30),
        ),
        (
            "error words",
            header.to_string() + &format!("root 1 S {}\n", "error ".repeat(20_000)).repeat(20),
        ),
        (
            "glued error words",
            header.to_string() + &format!("root 1 S {}\n", "x-error-".repeat(20_000)).repeat(20),
        ),
        ("dashes", "-".repeat(100) + "\n" + &"a b\n".repeat(10_000)),
        (
            "a thousand columns",
            (0..3000)
                .map(|i| {
                    (0..1000)
                        .map(|c| (i * c % 97).to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                        + "\n"
                })
                .collect(),
        ),
        (
            "headings only",
            (0..20_000)
                .map(|i| format!("\n/dir{i}:\ntotal 0\n"))
                .collect(),
        ),
        (
            "dates",
            (0..20_000)
                .map(|i| format!("2024-01-{:02} 12:00:{:02} x\n", i % 28 + 1, i % 60))
                .collect(),
        ),
    ];
    for (name, text) in &inputs {
        for budget in [20, 200, 2000] {
            let store = MemoryStore::default();
            let started = std::time::Instant::now();
            let r = compress(
                text,
                &Options {
                    budget,
                    kind: Some(Kind::Table),
                    query: "errors in `main` id 42".into(),
                    ..Options::default()
                },
                &store,
            );
            let secs = started.elapsed().as_secs_f64();
            let reason = r.reason.clone().unwrap_or_default();
            assert!(
                !reason.contains("internal error"),
                "{name} at {budget}: {reason}"
            );
            assert!(r.tokens_after <= r.tokens_before, "{name}");
            if r.strategy == "passthrough" {
                assert_eq!(&r.output, text, "{name}");
            } else if budget >= 200 {
                assert!(
                    r.tokens_after <= budget,
                    "{name} at {budget}: {}",
                    r.tokens_after
                );
            }
            println!("{name} at {budget}: {secs:.2} s, {}", r.strategy);
            assert!(secs < 60.0, "{name} at {budget}: {secs:.1} s");
        }
    }
}

/// The figures for the report: per listing and budget, tokens before and after, whether the
/// anomalies and the answer are visible, and the same for the line compressor
/// (`cargo test -p cinch-core --test table -- --ignored --nocapture measurements`).
#[test]
#[ignore]
fn measurements() {
    println!("listing | budget | tokens before | after | used | anomaly | answer (tokens) | lines: after, anomaly, answer");
    for c in cases() {
        for budget in [200, 500, 2000] {
            let (r, _) = run(&c.text, "", budget);
            let (q, _) = run(&c.text, c.query, budget);
            let store = MemoryStore::default();
            let lines = |query: &str| {
                compress(
                    &c.text,
                    &Options {
                        budget,
                        query: query.into(),
                        kind: Some(Kind::Lines),
                        ..Options::default()
                    },
                    &store,
                )
            };
            let (l, lq) = (lines(""), lines(c.query));
            let all = |out: &str| match c.anomalies.is_empty() {
                true => "-",
                false if c.anomalies.iter().all(|a| out.contains(a)) => "yes",
                false => "NO",
            };
            let yes = |b: bool| if b { "yes" } else { "NO" };
            println!(
                "{} | {budget} | {} | {} | {}% | {} | {} ({}) | {}, {}, {}",
                c.name,
                r.tokens_before,
                r.tokens_after,
                100 * r.tokens_after / budget,
                all(&r.output),
                yes(q.output.contains(c.answer)),
                q.tokens_after,
                l.tokens_after,
                all(&l.output),
                yes(lq.output.contains(c.answer)),
            );
        }
    }
}

/// Throughput on a large `ps aux`-like listing against the line compressor, in the same run
/// (`cargo test --release -p cinch-core --test table -- --ignored --nocapture`).
#[test]
#[ignore]
fn throughput_against_lines() {
    let mut g = Rng(29);
    let mut text =
        String::from("USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n");
    let stats = ["S", "Ss", "I<", "Sl"];
    for i in 0..300_000u64 {
        text.push_str(&format!(
            "root     {:>6}  0.{}  0.0 {:>6} {:>5} ?        {:<4} 15:58   0:00 /usr/bin/thing-{i} --flag={}\n",
            i + 1,
            g.below(3),
            1000 + g.below(900_000),
            100 + g.below(90_000),
            stats[g.below(4) as usize],
            g.below(100)
        ));
    }
    let mb = text.len() as f64 / 1e6;
    for kind in [Kind::Table, Kind::Lines, Kind::Table, Kind::Lines] {
        let store = MemoryStore::default();
        let opts = Options {
            kind: Some(kind),
            query: "thing-4242".into(),
            ..Options::default()
        };
        let started = std::time::Instant::now();
        let r = compress(&text, &opts, &store);
        let secs = started.elapsed().as_secs_f64();
        assert!(r.tokens_after <= opts.budget);
        println!(
            "{kind:?}: {mb:.1} MB in {secs:.2} s = {:.1} MB/s ({} -> {} tokens)",
            mb / secs,
            r.tokens_before,
            r.tokens_after
        );
    }
}
