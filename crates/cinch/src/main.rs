//! The `cinch` command line: wiring only; the work happens in the library crates.

use anyhow::{bail, Context, Result};
use cinch_core::ccr::search::Items;
use cinch_core::ccr::{entry, DEFAULT_NAMESPACE};
use cinch_core::json::decode::decode;
use cinch_core::query::Query;
use cinch_core::{compress, FreeText, GetError, Key, Kind, Options, Tokenizer, DEFAULT_BUDGET};
use cinch_kompress::{Kompress, Precision, Settings};
use clap::{Parser, Subcommand};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "cinch",
    version,
    about = "Compress tool output for LLM agents; every drop stays retrievable"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compress FILE (or standard input) and print what the model should see.
    Compress {
        /// Input file; `-` or nothing reads standard input.
        file: Option<PathBuf>,
        /// What the agent is asking; decides what is kept.
        #[arg(long, default_value = "")]
        query: String,
        /// Force the content kind instead of detecting it: json, log, tests, search, diff,
        /// gitlog, code, table, paths, config, prose or lines (kept as lines, never cut).
        #[arg(long)]
        kind: Option<Kind>,
        /// Token budget for the output, a cap: above it, what is left out goes to the store.
        #[arg(long, default_value_t = DEFAULT_BUDGET)]
        budget: usize,
        /// Tokenizer to count with (o200k_base, cl100k_base).
        #[arg(long, default_value = "o200k_base")]
        tokenizer: Tokenizer,
        #[command(flatten)]
        at: StoreAt,
        #[command(flatten)]
        kompress: KompressArgs,
        /// Only lossless results: nothing is dropped, even when the output is then over the
        /// budget (the report says so).
        #[arg(long)]
        lossless: bool,
        /// Print a JSON report instead of the text.
        #[arg(long)]
        json: bool,
    },
    /// Invert a lossless encoding: print the original document, byte for byte.
    Expand {
        /// Input file; `-` or nothing reads standard input.
        file: Option<PathBuf>,
        /// Accepted for symmetry with the other commands; lossless encodings need no store.
        #[arg(long, env = "CINCH_STORE")]
        store: Option<String>,
    },
    /// Print the original stored under KEY, byte for byte; with --query only the rows or lines
    /// that match; with --dropped only those the output left out.
    Retrieve {
        /// The key from a `<<ccr:KEY ...>>` marker.
        key: String,
        /// Return only the stored rows (or lines) that match: exact ids and numbers first, then
        /// by relevance.
        #[arg(long)]
        query: Option<String>,
        /// At most this many rows or lines.
        #[arg(long)]
        limit: Option<usize>,
        /// Skip this many rows or lines first.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Only the rows or lines the compressed output left out.
        #[arg(long)]
        dropped: bool,
        #[command(flatten)]
        at: StoreAt,
    },
    /// Look after the store: stats, gc, clear.
    Store {
        #[command(subcommand)]
        action: StoreAction,
        /// Store URL: sqlite:PATH[?ttl=7d&capacity=1GiB], a path, or memory:.
        #[arg(long, env = "CINCH_STORE", global = true)]
        store: Option<String>,
    },
    /// Run the HTTP proxy: point ANTHROPIC_BASE_URL at http://HOST:PORT or OPENAI_BASE_URL
    /// at http://HOST:PORT/v1 and tool outputs are compressed on their way to the model.
    Proxy(ProxyArgs),
}

/// Settings of `cinch proxy` that override the config file.
#[derive(clap::Args)]
struct ProxyArgs {
    /// Port to listen on (default 8787).
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on (default 127.0.0.1: the proxy forwards credentials, so it is not
    /// reachable from other machines unless asked).
    #[arg(long)]
    host: Option<std::net::IpAddr>,
    /// Store URL for dropped parts (see `compress --store`).
    #[arg(long, env = "CINCH_STORE")]
    store: Option<String>,
    /// Base URL of the Anthropic API (default https://api.anthropic.com).
    #[arg(long, env = "CINCH_ANTHROPIC_UPSTREAM")]
    anthropic_upstream: Option<String>,
    /// Base URL of the OpenAI API (default https://api.openai.com).
    #[arg(long, env = "CINCH_OPENAI_UPSTREAM")]
    openai_upstream: Option<String>,
    /// A TOML config file: listen address, upstreams, limits and the per-tool policy table.
    #[arg(long, env = "CINCH_PROXY_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    kompress: KompressArgs,
}

/// Where entries go: the store and the namespace inside it.
#[derive(clap::Args)]
struct StoreAt {
    /// Store URL: sqlite:PATH[?ttl=7d&capacity=1GiB], a path, or memory:.
    #[arg(long, env = "CINCH_STORE")]
    store: Option<String>,
    /// The namespace entries belong to; another namespace cannot read them.
    #[arg(long, env = "CINCH_NAMESPACE", default_value = DEFAULT_NAMESPACE)]
    namespace: String,
}

/// The neural compressor for prose and other free text.
#[derive(clap::Args)]
struct KompressArgs {
    /// A Kompress-style model directory (config.json, model.safetensors, tokenizer.json):
    /// prose and plain text are then compressed by the model. Nothing is downloaded.
    #[arg(long, env = "CINCH_KOMPRESS_MODEL")]
    kompress_model: Option<PathBuf>,
    /// Run the model with int8 weights and activations (the hand-written AVX-512 VNNI path for
    /// ModernBERT models, about 7x faster than f32 here; elsewhere candle's int8).
    #[arg(long, env = "CINCH_KOMPRESS_INT8")]
    kompress_int8: bool,
    /// Keep this share (0..1) of the words the model judges, the best-scored, instead of
    /// those scoring above its threshold.
    #[arg(long, env = "CINCH_KOMPRESS_RATIO", value_parser = ratio)]
    kompress_ratio: Option<f32>,
    /// Longest a model call may take, in milliseconds; past it the deterministic compressor
    /// is used.
    #[arg(long, env = "CINCH_KOMPRESS_DEADLINE_MS", default_value_t = cinch_kompress::DEFAULT_DEADLINE.as_millis() as u64)]
    kompress_deadline_ms: u64,
}

impl KompressArgs {
    /// The free-text compressor: the model if one was named and loads, otherwise the
    /// deterministic one with the reason in every report.
    fn free_text(&self) -> FreeText {
        let Some(dir) = &self.kompress_model else {
            return FreeText::Deterministic;
        };
        let precision = if self.kompress_int8 {
            Precision::FastInt8
        } else {
            Precision::F32
        };
        match Kompress::load(dir, precision) {
            Ok(k) => FreeText::Model(Arc::new(
                k.with_deadline(Duration::from_millis(self.kompress_deadline_ms))
                    .with_settings(Settings {
                        target_ratio: self.kompress_ratio,
                        ..Settings::default()
                    }),
            )),
            Err(e) => {
                let why = format!("the Kompress model in {} did not load: {e}", dir.display());
                eprintln!("cinch: {why}; using the deterministic prose compressor");
                FreeText::Unavailable(why)
            }
        }
    }
}

#[derive(Subcommand)]
enum StoreAction {
    /// Print entries, bytes, hits, misses, expired reads and evictions as JSON.
    Stats,
    /// Remove expired entries now.
    Gc,
    /// Remove every entry (of one namespace with --namespace).
    Clear {
        /// Only this namespace.
        #[arg(long)]
        namespace: Option<String>,
    },
}

fn ratio(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(r) if r > 0.0 && r <= 1.0 => Ok(r),
        _ => Err(format!("{s:?} is not a share between 0 (excluded) and 1")),
    }
}

fn read_input(file: Option<&PathBuf>) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    match file {
        Some(p) if p.as_os_str() != "-" => {
            buf = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read standard input")?;
        }
    }
    Ok(buf)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        // A reader that stopped early (`| head`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cinch: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Compress {
            file,
            query,
            kind,
            budget,
            tokenizer,
            at,
            kompress,
            lossless,
            json,
        } => {
            let init = std::time::Instant::now();
            cinch_core::warm(tokenizer);
            let free_text = kompress.free_text();
            let init_us = init.elapsed().as_micros() as u64;
            let input = read_input(file.as_ref())?;
            let Ok(text) = std::str::from_utf8(&input) else {
                if json {
                    bail!(
                        "input is not valid UTF-8; run without --json to pass it through unchanged"
                    );
                }
                eprintln!("cinch: input is not valid UTF-8; passed through unchanged");
                stdout.write_all(&input)?;
                return Ok(ExitCode::SUCCESS);
            };
            // Without a store nothing may be dropped, but lossless results still help.
            let store = cinch_store::open(at.store.as_deref()).unwrap_or_else(|e| {
                Box::new(cinch_store::Unavailable(format!(
                    "cannot open the store: {e}"
                )))
            });
            if at
                .store
                .as_deref()
                .is_some_and(|s| s.trim().starts_with("memory:"))
            {
                eprintln!(
                    "cinch: warning: with --store memory: the dropped parts live only as long as this process; the keys in the output will not retrieve anything"
                );
            }
            let opts = Options {
                query,
                kind,
                budget,
                tokenizer,
                namespace: at.namespace,
                free_text,
                lossless_only: lossless,
            };
            let report = compress(text, &opts, store.as_ref());
            if let Some(reason) = report.reason.as_deref().filter(|r| r.contains("store")) {
                eprintln!("cinch: {reason}");
            }
            if json {
                let mut v = serde_json::to_value(&report)?;
                v["init_us"] = init_us.into();
                serde_json::to_writer(&mut stdout, &v)?;
                stdout.write_all(b"\n")?;
            } else {
                // Exactly the output: a pass-through is the input byte for byte.
                stdout.write_all(report.output.as_bytes())?;
            }
        }
        Command::Expand { file, store: _ } => {
            let input = read_input(file.as_ref())?;
            let text = std::str::from_utf8(&input).context("input is not valid UTF-8")?;
            if !looks_encoded(text) {
                // Plain JSON, or any text compression passed through: its own expansion.
                stdout.write_all(&input)?;
            } else {
                match decode(text) {
                    Ok(d) => stdout.write_all(d.render().as_bytes())?,
                    Err(e) => bail!("{e}"),
                }
            }
        }
        Command::Retrieve {
            key,
            query,
            limit,
            offset,
            dropped,
            at,
        } => {
            let key = Key::parse(key.trim())?;
            let store = cinch_store::open(at.store.as_deref())?;
            let content = match entry::fetch(store.as_ref(), &at.namespace, &key) {
                Ok(content) => content,
                Err(GetError::Backend(e)) => return Err(e.into()),
                Err(e) => {
                    eprintln!("cinch: {e}");
                    return Ok(ExitCode::from(1));
                }
            };
            let stored = entry::decode(&content)?;
            if query.is_none() && limit.is_none() && offset == 0 && !dropped {
                stdout.write_all(stored.original)?;
            } else {
                let items = Items::of_entry(&stored)
                    .context("retrieve it without --query, --limit, --offset or --dropped")?;
                let query = Query::parse(query.as_deref().unwrap_or(""));
                let mut matching = items.matching(&query);
                if dropped {
                    let left_out: std::collections::HashSet<usize> =
                        items.dropped(&stored).into_iter().collect();
                    matching.retain(|i| left_out.contains(i));
                }
                let page: Vec<&str> = matching
                    .iter()
                    .skip(offset)
                    .take(limit.unwrap_or(usize::MAX))
                    .map(|&i| items.items[i].as_ref())
                    .collect();
                let noun = items.noun();
                let shown = if page.is_empty() {
                    "none shown".to_string()
                } else {
                    format!("showing {}..{}", offset + 1, offset + page.len())
                };
                let which = match (query.is_empty(), dropped) {
                    (true, true) => "were left out of the output",
                    (false, true) => "match and were left out of the output",
                    _ => "match",
                };
                eprintln!(
                    "cinch: {} of {} {noun} {which}; {shown}",
                    matching.len(),
                    items.len()
                );
                if items.json {
                    stdout.write_all(b"[\n")?;
                    stdout.write_all(page.join(",\n").as_bytes())?;
                    stdout.write_all(b"\n]\n")?;
                } else {
                    for line in page {
                        stdout.write_all(line.as_bytes())?;
                        stdout.write_all(b"\n")?;
                    }
                }
            }
        }
        Command::Proxy(args) => return run_proxy(args),
        Command::Store { action, store } => {
            let store = cinch_store::open(store.as_deref())?;
            let report = match action {
                StoreAction::Stats => serde_json::to_value(store.stats()?)?,
                StoreAction::Gc => serde_json::json!({ "removed_expired": store.gc()? }),
                StoreAction::Clear { namespace } => {
                    serde_json::json!({ "removed": store.clear(namespace.as_deref())? })
                }
            };
            serde_json::to_writer(&mut stdout, &report)?;
            stdout.write_all(b"\n")?;
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Runs the proxy until SIGINT or SIGTERM, then lets in-flight requests finish (up to the
/// config's grace period).
fn run_proxy(args: ProxyArgs) -> Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => cinch_proxy::Config::from_file(path)?,
        None => cinch_proxy::Config::default(),
    };
    if let Some(port) = args.port {
        config.listen.set_port(port);
    }
    if let Some(host) = args.host {
        config.listen.set_ip(host);
    }
    if let Some(url) = args.anthropic_upstream {
        config.anthropic_upstream = url;
    }
    if let Some(url) = args.openai_upstream {
        config.openai_upstream = url;
    }
    if args.store.is_some() {
        config.store = args.store;
    }
    let store: Arc<dyn cinch_core::Store> = Arc::from(cinch_store::open(config.store.as_deref())?);
    let free_text = args.kompress.free_text();
    let proxy = Arc::new(cinch_proxy::Proxy::new(config, store)?.with_free_text(free_text));
    cinch_core::warm(cinch_core::Tokenizer::default());
    release_read_pages();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CINCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    // Compression is CPU-bound: more blocking threads than cores only add memory (each thread
    // gets its own allocator arena and token caches), not speed.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(cores.max(2))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let addr = proxy.config().listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        eprintln!(
            "cinch proxy listening on http://{}: ANTHROPIC_BASE_URL=http://{0} OPENAI_BASE_URL=http://{0}/v1",
            listener.local_addr()?
        );
        let grace = Duration::from_millis(proxy.config().shutdown_grace_ms);
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let mut stopped = stop_rx.clone();
        let server = cinch_proxy::serve(proxy, listener, async move {
            let _ = stopped.wait_for(|s| *s).await;
        });
        tokio::spawn(async move {
            shutdown_signal().await;
            eprintln!("cinch proxy: shutting down; letting in-flight requests finish");
            let _ = stop_tx.send(true);
        });
        tokio::select! {
            r = server => r.context("the proxy failed")?,
            _ = async {
                let _ = stop_rx.wait_for(|s| *s).await;
                tokio::time::sleep(grace).await;
            } => eprintln!("cinch proxy: grace period over; closing the remaining connections"),
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Hands back to the kernel the pages of the binary's read-only data that start-up read: most
/// of them are the tokenizer's 32 MB serialised vocabulary, read once to build its tables and
/// never again, which would otherwise count in the proxy's resident memory for as long as it
/// runs. `MADV_PAGEOUT` only reclaims what can be reclaimed (clean pages are re-read from the
/// file if touched again; relocated pages stay), so it is safe on any mapping. Best effort:
/// Linux 5.4 or newer.
#[cfg(target_os = "linux")]
fn release_read_pages() {
    let (Ok(exe), Ok(maps)) = (
        std::fs::read_link("/proc/self/exe"),
        std::fs::read_to_string("/proc/self/maps"),
    ) else {
        return;
    };
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let path = fields.nth(3);
        if perms != "r--p" || path.map(std::path::Path::new) != Some(exe.as_path()) {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        // SAFETY: the range is a whole mapping of this process; MADV_PAGEOUT changes no
        // contents, it only lets the kernel reclaim pages it can restore.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn release_read_pages() {}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Text that carries table syntax (a header `[N]{`, a dictionary, a style tag such as `@json
/// indent=2` or `@ndjson`) is meant to be an encoding, so a decoding error there is an error,
/// not a pass-through.
fn looks_encoded(text: &str) -> bool {
    text.starts_with("@ndjson")
        || text.starts_with("@json ")
        || text.starts_with("~")
        || text.match_indices('[').any(|(i, _)| {
            let rest = &text.as_bytes()[i + 1..];
            let d = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            d > 0 && rest.get(d) == Some(&b']') && rest.get(d + 1) == Some(&b'{')
        })
}
