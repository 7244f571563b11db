//! The `cinch` command line: wiring only; the work happens in the library crates.

use anyhow::{bail, Context, Result};
use cinch_core::json::decode::{decode, DecodeError};
use cinch_core::{compress, GetError, Key, Kind, Options, Tokenizer, DEFAULT_BUDGET};
use clap::{Parser, Subcommand};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

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
        /// Force the content kind (json, text) instead of detecting it.
        #[arg(long)]
        kind: Option<Kind>,
        /// Token budget for the output; above it, rows are dropped into the store.
        #[arg(long, default_value_t = DEFAULT_BUDGET)]
        budget: usize,
        /// Tokenizer to count with (o200k_base, cl100k_base).
        #[arg(long, default_value = "o200k_base")]
        tokenizer: Tokenizer,
        /// Store URL: sqlite:PATH, a path, or memory:.
        #[arg(long, env = "CINCH_STORE")]
        store: Option<String>,
        /// Print a JSON report instead of the text.
        #[arg(long)]
        json: bool,
    },
    /// Invert a lossless encoding: print the original JSON.
    Expand {
        /// Input file; `-` or nothing reads standard input.
        file: Option<PathBuf>,
        /// Accepted for symmetry with the other commands; lossless encodings need no store.
        #[arg(long, env = "CINCH_STORE")]
        store: Option<String>,
    },
    /// Print the original stored under KEY.
    Retrieve {
        /// The key from a `<<ccr:KEY ...>>` marker.
        key: String,
        /// Store URL: sqlite:PATH, a path, or memory:.
        #[arg(long, env = "CINCH_STORE")]
        store: Option<String>,
    },
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
            store,
            json,
        } => {
            let init = std::time::Instant::now();
            cinch_core::warm(tokenizer);
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
            let store = cinch_store::open(store.as_deref())?;
            let opts = Options {
                query,
                kind,
                budget,
                tokenizer,
                ..Options::default()
            };
            let report = compress(text, &opts, store.as_ref());
            if json {
                let mut v = serde_json::to_value(&report)?;
                v["init_us"] = init_us.into();
                serde_json::to_writer(&mut stdout, &v)?;
                stdout.write_all(b"\n")?;
            } else {
                stdout.write_all(report.output.as_bytes())?;
                if !report.output.ends_with('\n') {
                    stdout.write_all(b"\n")?;
                }
            }
        }
        Command::Expand { file, store: _ } => {
            let input = read_input(file.as_ref())?;
            let text = std::str::from_utf8(&input).context("input is not valid UTF-8")?;
            match decode(text.trim_end_matches('\n')) {
                Ok(d) => {
                    let items = match (&d.value, d.ndjson) {
                        (serde_json::Value::Array(items), true) => items.iter().collect(),
                        (v, _) => vec![v],
                    };
                    for v in items {
                        serde_json::to_writer(&mut stdout, v)?;
                        stdout.write_all(b"\n")?;
                    }
                }
                Err(e @ DecodeError::Lossy { .. }) => bail!("{e}"),
                Err(e) if looks_encoded(text) => bail!("{e}"),
                // Not an encoding at all: a pass-through is its own expansion.
                Err(_) => stdout.write_all(&input)?,
            }
        }
        Command::Retrieve { key, store } => {
            let key = Key::parse(key.trim())?;
            let store = cinch_store::open(store.as_deref())?;
            match store.get(cinch_core::ccr::DEFAULT_NAMESPACE, &key) {
                Ok(content) => stdout.write_all(&content)?,
                Err(e @ (GetError::Unknown(_) | GetError::Expired(_))) => {
                    eprintln!("cinch: {e}");
                    return Ok(ExitCode::from(1));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Text that carries table syntax (a header `[N]{`, a dictionary, the NDJSON tag) is meant to
/// be an encoding, so a decoding error there is an error, not a pass-through.
fn looks_encoded(text: &str) -> bool {
    text.starts_with("@ndjson\n")
        || text.starts_with("~")
        || text.match_indices('[').any(|(i, _)| {
            let rest = &text.as_bytes()[i + 1..];
            let d = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            d > 0 && rest.get(d) == Some(&b']') && rest.get(d + 1) == Some(&b'{')
        })
}
