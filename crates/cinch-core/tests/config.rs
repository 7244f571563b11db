//! Configuration and data files as agents read them (a `Cargo.lock`, a CI workflow, a
//! pnpm-style lockfile, a Maven POM, an XML file of records, `sysctl -a`, `pyproject.toml`,
//! `npm config ls -l`, `env`, Kubernetes manifests), real files from a development machine
//! with an anomaly planted in each: detected as config, the anomaly visible without a query,
//! the record the query names visible whole, the budget held and used, and the whole original
//! stored under the marker's key.

use cinch_core::ccr::entry;
use cinch_core::ccr::{marker_keys, MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::detect::detect;
use cinch_core::{compress, Kind, Options, Report, Store};
use proptest::prelude::*;

struct Case {
    file: &'static str,
    /// Lines a reader must see without asking.
    anomalies: &'static [&'static str],
    query: &'static str,
    /// Text the query asks for, as it stands in the input (several lines: a whole record).
    answer: &'static str,
}

const CASES: &[Case] = &[
    Case {
        file: "config_Cargo.lock",
        anomalies: &[
            "source = \"git+https://github.com/example-fork/mio?branch=fix-epoll#5d2a9c1e7b0f3a4c6e8d9b1a2f3c4d5e6f7a8b9c\"",
        ],
        query: "openssl",
        answer: "[[package]]\nname = \"openssl\"\nversion = \"0.10.75\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"08838db121398ad17ab8531ce9de97b244589089e290a384c900cb9ff7434328\"\ndependencies = [\n \"bitflags\",\n \"cfg-if\",\n \"foreign-types\",\n \"libc\",\n \"once_cell\",\n \"openssl-macros\",\n \"openssl-sys\",\n]\n",
    },
    Case {
        file: "config_ci_workflow.yml",
        anomalies: &["      if: failure()"],
        query: "what does the msrv_build job run on",
        answer: "  msrv_build:\n    name: MSRV build ${{ matrix.os }}\n    runs-on: ${{ matrix.os }}\n",
    },
    Case {
        file: "config_pnpm_lock.yaml",
        anomalies: &[
            "    deprecated: 'Critical: ReDoS in brace expansion, upgrade to a patched release'",
        ],
        query: "which semver is locked",
        answer: "  /semver@7.8.5:\n    resolution: {integrity: sha512-6TBc+VmaPLr23ZPaIk4kQ/mnhd525WjCcqG+G73Hrq5u/KEbCvDHs0QIl/tovr4aKWjWHIbuf66kMRCmxv7RGg==}\n    engines: {node: '>=10'}\n    hasBin: true\n    dev: false\n",
    },
    Case {
        file: "config_pom.xml",
        anomalies: &["\t\t<maven.test.failure.ignore>true</maven.test.failure.ignore>"],
        query: "jacoco version",
        answer: "\t\t<commons.jacoco.version>0.8.8</commons.jacoco.version>\n",
    },
    Case {
        file: "config_iso_3166.xml",
        anomalies: &[
            "\t\tnumeric_code=\"\"",
            "\t\tcomment=\"user-assigned code, invalid in ISO 3166-1; do not rely on it\" />",
        ],
        query: "Botswana",
        answer: "\t<iso_3166_entry\n\t\talpha_2_code=\"BW\"\n\t\talpha_3_code=\"BWA\"\n\t\tnumeric_code=\"072\"\n\t\tname=\"Botswana\"\n\t\tofficial_name=\"Republic of Botswana\" />\n",
    },
    Case {
        file: "config_sysctl.txt",
        anomalies: &["sysctl: permission denied on key 'kernel.cad_pid', ignoring"],
        query: "vm.swappiness",
        answer: "vm.swappiness = 60\n",
    },
];

/// Small files: over the budget only at the lower budgets.
const SMALL: &[(&str, &str, &str)] = &[
    ("config_pyproject.toml", "mypy settings", "[tool.mypy]\n"),
    (
        "config_npm_ini.txt",
        "registry",
        "registry = \"https://registry.npmjs.org/\"\n",
    ),
    ("config_env.txt", "PYENV_ROOT", "PYENV_ROOT=/root/.pyenv\n"),
];

fn sample(file: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/samples/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Kubernetes manifests as `kubectl get -o yaml` or a kustomize build prints them: a
/// Deployment, a Service and a ConfigMap per app, one Deployment running privileged.
fn manifests() -> String {
    let mut out = String::new();
    for (i, app) in [
        "api", "web", "worker", "billing", "search", "auth", "mailer", "gateway",
    ]
    .iter()
    .enumerate()
    {
        let privileged = if *app == "billing" {
            "        securityContext:\n          privileged: true\n"
        } else {
            ""
        };
        out.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\n  namespace: prod\n  labels:\n    app: {app}\n    tier: backend\nspec:\n  replicas: {}\n  selector:\n    matchLabels:\n      app: {app}\n  template:\n    metadata:\n      labels:\n        app: {app}\n    spec:\n      containers:\n      - name: {app}\n        image: registry.example.com/{app}:1.{i}.{}\n        imagePullPolicy: IfNotPresent\n        ports:\n        - containerPort: 80{i}0\n        resources:\n          limits:\n            cpu: 500m\n            memory: 512Mi\n          requests:\n            cpu: 100m\n            memory: 128Mi\n{privileged}        env:\n        - name: LOG_LEVEL\n          value: info\n        - name: DATABASE_URL\n          valueFrom:\n            secretKeyRef:\n              name: {app}-db\n              key: url\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\n  namespace: prod\nspec:\n  selector:\n    app: {app}\n  ports:\n  - port: 80\n    targetPort: 80{i}0\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {app}-config\n  namespace: prod\ndata:\n  FEATURE_FLAGS: \"search,billing-v2\"\n  CACHE_TTL: \"300\"\n",
            2 + i % 3,
            i * 7 % 10
        ));
    }
    out
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

/// Whether `line` is a whole line of `output`.
fn shows(output: &str, line: &str) -> bool {
    output.lines().any(|l| l == line)
}

/// The one stored entry's original equals the input, and its kept lines are in the output.
fn stored_whole(r: &Report, store: &MemoryStore, text: &str) {
    let keys = marker_keys(&r.output);
    assert_eq!(keys.len(), 1, "one marker");
    let bytes = store.get(DEFAULT_NAMESPACE, &keys[0]).unwrap();
    let e = entry::decode(&bytes).unwrap();
    assert_eq!(e.original, text.as_bytes(), "the whole original is stored");
    assert_eq!(e.header.kind, "config");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for &(a, b) in &e.header.kept {
        for line in &lines[a..b] {
            assert!(r.output.contains(line.trim_end_matches('\n')));
        }
    }
}

/// Checks one input at the three budgets; `anomalies` visible from 500 tokens up.
fn check(name: &str, text: &str, anomalies: &[&str]) {
    assert_eq!(detect(text).kind, Kind::Config, "{name}");
    for budget in [200, 500, 2000] {
        let (r, store) = run(text, "", budget);
        let at = format!("{name} at {budget}");
        if r.tokens_before <= budget {
            assert_eq!(r.output, text, "{at}: fits, so passes through");
            continue;
        }
        assert_eq!(r.strategy, "config", "{at}: {:?}", r.reason);
        assert!(r.tokens_after <= budget, "{at}: {} tokens", r.tokens_after);
        assert!(
            r.tokens_after * 10 >= budget * 4,
            "{at}: only {} tokens used",
            r.tokens_after
        );
        stored_whole(&r, &store, text);
        if budget >= 500 {
            for a in anomalies {
                assert!(shows(&r.output, a), "{at}: {a:?} not visible\n{}", r.output);
            }
        }
    }
}

#[test]
fn real_files_hold_the_budget_use_it_show_the_anomaly_and_store_everything() {
    for c in CASES {
        check(c.file, &sample(c.file), c.anomalies);
    }
    for (file, ..) in SMALL {
        check(file, &sample(file), &[]);
    }
    check("manifests", &manifests(), &["          privileged: true"]);
}

#[test]
fn the_record_the_query_names_is_visible_whole() {
    let small = SMALL.iter().map(|(f, q, a)| (*f, *q, *a, 200));
    let cases = CASES.iter().flat_map(|c| {
        [
            (c.file, c.query, c.answer, 500),
            (c.file, c.query, c.answer, 2000),
        ]
    });
    for (file, query, answer, budget) in cases.chain(small) {
        let text = sample(file);
        let (r, _) = run(&text, query, budget);
        assert!(r.tokens_after <= budget);
        assert!(
            r.output.contains(answer),
            "{file} at {budget}: {answer:?} not visible for {query:?}\n{}",
            r.output
        );
    }
    let text = manifests();
    let (r, _) = run(&text, "the billing deployment's image", 500);
    assert!(r
        .output
        .contains("        image: registry.example.com/billing:1.3.1\n"));
}

/// Prints what each fixture compresses to, and the generic line compressor's output on the
/// same input, for measuring: `SHOW=500 cargo test -p cinch-core --test config measure --
/// --ignored --nocapture`.
#[test]
#[ignore]
fn measure() {
    let mut all: Vec<(String, String, Vec<&str>)> = CASES
        .iter()
        .map(|c| (c.file.to_string(), sample(c.file), c.anomalies.to_vec()))
        .collect();
    for (f, ..) in SMALL {
        all.push((f.to_string(), sample(f), Vec::new()));
    }
    all.push((
        "manifests".into(),
        manifests(),
        vec!["          privileged: true"],
    ));
    let only = std::env::var("ONLY").unwrap_or_default();
    for (file, text, anomalies) in &all {
        if !file.contains(&only) {
            continue;
        }
        for budget in [200, 500, 2000] {
            let (r, _) = run(text, "", budget);
            let store = MemoryStore::default();
            let lines = compress(
                text,
                &Options {
                    budget,
                    kind: Some(Kind::Lines),
                    ..Options::default()
                },
                &store,
            );
            let seen = |out: &str| anomalies.iter().filter(|a| shows(out, a)).count();
            println!(
                "{file:28} budget {budget:5}: {:6} -> {:5} tokens, {}/{} anomalies; lines: {:5} tokens, {}/{} anomalies",
                r.tokens_before,
                r.tokens_after,
                seen(&r.output),
                anomalies.len(),
                lines.tokens_after,
                seen(&lines.output),
                anomalies.len()
            );
            if std::env::var("SHOW").is_ok_and(|b| b == budget.to_string()) {
                println!("{}", r.output);
            }
        }
    }
}

/// A generated TOML lockfile, YAML map of lists or `KEY=value` file.
fn config_text() -> impl Strategy<Value = String> {
    let name = "[a-z][a-z0-9_-]{0,10}";
    let value = "[ -~]{0,30}";
    let toml = prop::collection::vec((name, value, prop::bool::ANY), 1..120).prop_map(|rows| {
        rows.into_iter()
            .map(|(n, v, deps)| {
                let deps = if deps {
                    "dependencies = [\n \"x\",\n]\n"
                } else {
                    ""
                };
                format!(
                    "[[package]]\nname = \"{n}\"\nversion = \"{}\"\n{deps}\n",
                    v.len()
                )
            })
            .collect::<String>()
    });
    let yaml = prop::collection::vec((name, value, 0usize..4), 1..120).prop_map(|rows| {
        rows.into_iter()
            .map(|(n, v, depth)| format!("{}{n}: {v}\n", "  ".repeat(depth)))
            .collect::<String>()
    });
    let env = prop::collection::vec((name, value), 1..200).prop_map(|rows| {
        rows.into_iter()
            .map(|(n, v)| format!("{}={v}\n", n.to_uppercase()))
            .collect::<String>()
    });
    prop_oneof![toml, yaml, env]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// What the fuzz target checks, on any text: no panic behind the router's guard, never
    /// larger than the input, a pass-through is the input.
    #[test]
    fn any_text_forced_to_this_kind_is_safe(
        text in "(?s).{0,600}",
        budget in 10usize..300,
    ) {
        let store = MemoryStore::default();
        let opts = Options {
            budget,
            query: "errors in `main` id 42".into(),
            kind: Some(Kind::Config),
            ..Options::default()
        };
        let r = compress(&text, &opts, &store);
        prop_assert!(!r.reason.clone().unwrap_or_default().contains("internal error"));
        prop_assert!(r.tokens_after <= r.tokens_before);
        if r.strategy == "passthrough" {
            prop_assert_eq!(&r.output, &text);
        }
    }

    #[test]
    fn any_config_holds_the_budget_and_is_stored_whole(
        text in config_text(),
        budget in 200usize..1500,
    ) {
        let store = MemoryStore::default();
        let r = compress(
            &text,
            &Options { budget, kind: Some(Kind::Config), ..Options::default() },
            &store,
        );
        prop_assert!(r.tokens_after <= budget.max(r.tokens_before));
        if r.strategy == "passthrough" {
            prop_assert_eq!(&r.output, &text);
        } else {
            prop_assert_eq!(r.strategy, "config");
            let keys = marker_keys(&r.output);
            prop_assert_eq!(keys.len(), 1);
            let bytes = store.get(DEFAULT_NAMESPACE, &keys[0]).unwrap();
            let e = entry::decode(&bytes).unwrap();
            prop_assert_eq!(e.original, text.as_bytes());
        }
    }
}
#[test]
fn the_same_input_gives_the_same_bytes() {
    for c in CASES {
        let text = sample(c.file);
        let first = run(&text, c.query, 500).0.output;
        assert_eq!(first, run(&text, c.query, 500).0.output, "{}", c.file);
    }
}

/// What the model sees, pinned: a change in it shows up in review.
#[test]
fn snapshot_of_a_lockfile_with_a_query() {
    insta::assert_snapshot!(run(&sample("config_Cargo.lock"), "openssl", 500).0.output);
}

#[test]
fn snapshot_of_a_workflow() {
    insta::assert_snapshot!(run(&sample("config_ci_workflow.yml"), "", 500).0.output);
}

#[test]
fn snapshot_of_xml_records() {
    insta::assert_snapshot!(run(&sample("config_iso_3166.xml"), "", 400).0.output);
}

#[test]
fn snapshot_of_sysctl() {
    insta::assert_snapshot!(run(&sample("config_sysctl.txt"), "", 300).0.output);
}

/// `retrieve KEY --query openssl` finds the package among what was left out.
#[test]
fn retrieval_with_a_query_finds_the_package() {
    use cinch_core::ccr::search::Items;
    use cinch_core::query::Query;
    let text = sample("config_Cargo.lock");
    let (r, store) = run(&text, "", 200);
    assert!(!r.output.contains("name = \"openssl\""));
    let bytes = store
        .get(DEFAULT_NAMESPACE, &marker_keys(&r.output)[0])
        .unwrap();
    let e = entry::decode(&bytes).unwrap();
    let items = Items::of_entry(&e).unwrap();
    let found: Vec<&str> = items
        .matching(&Query::parse("openssl"))
        .into_iter()
        .map(|i| items.items[i].as_ref())
        .collect();
    assert!(found.contains(&"name = \"openssl\""), "{found:?}");
}
