//! cinch's HTTP proxy: put it between an agent and the Anthropic or OpenAI API
//! (`ANTHROPIC_BASE_URL=http://127.0.0.1:8787`, `OPENAI_BASE_URL=http://127.0.0.1:8787/v1`)
//! and the tool outputs in every request are compressed before they reach the model.
//!
//! - `POST /v1/messages`, `POST /v1/chat/completions`, `POST /v1/responses`: tool outputs
//!   compressed with [`cinch_core::messages`] (byte-faithful and cache-safe), everything else
//!   of the request forwarded as sent. When the body sent upstream carries markers, the
//!   retrieval tool is added and the proxy answers the model's calls to it itself.
//! - Every other path: passed through untouched.
//! - `GET /healthz`, `GET /stats` (JSON), `GET /metrics` (Prometheus).
//!
//! Responses are relayed as they arrive (SSE event by event); the client gets the upstream's
//! status, headers and error bodies as they were.
#![deny(missing_docs)]

pub mod config;
mod forward;
mod headers;
mod rounds;
mod sse;
mod stats;
mod stream;

pub use config::{Config, ConfigError};

use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use cinch_core::messages::hidden::{Hidden, HiddenCall};
use cinch_core::messages::retrieve::Call;
use cinch_core::messages::Memo;
use cinch_core::{FreeText, Store, Tokenizer};
use stats::Stats;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A proxy: its settings, its store, and what it remembers between requests.
pub struct Proxy {
    hidden: std::sync::Mutex<HiddenCalls>,
    config: Config,
    store: Arc<dyn Store>,
    memo: Memo,
    stats: Stats,
    client: reqwest::Client,
    free_text: FreeText,
    tokenizer: Tokenizer,
}

/// The proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The settings are wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client could not be built.
    #[error("cannot build the upstream HTTP client: {0}")]
    Client(String),
}

impl Proxy {
    /// A proxy with `config`, keeping dropped parts in `store`.
    pub fn new(config: Config, store: Arc<dyn Store>) -> Result<Proxy, ProxyError> {
        config.check()?;
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .read_timeout(Duration::from_millis(config.read_timeout_ms))
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            // reqwest's default, said here because it matters: a small write (the last bytes
            // of a body after its headers) must not wait for the upstream's delayed ACK.
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ProxyError::Client(e.to_string()))?;
        Ok(Proxy {
            hidden: Default::default(),
            config,
            store,
            memo: Memo::default(),
            stats: Stats::default(),
            client,
            free_text: FreeText::Deterministic,
            tokenizer: Tokenizer::default(),
        })
    }

    /// Uses `free_text` (Kompress, say) for prose in tool outputs.
    pub fn with_free_text(mut self, free_text: FreeText) -> Proxy {
        self.free_text = free_text;
        self
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Remembers retrieval calls answered but kept from the client, under the ids of the
    /// client's calls made in the same turn (see [`cinch_core::messages::hidden`]).
    fn hide(
        &self,
        namespace: &str,
        theirs: &[String],
        calls: &[(String, Call)],
        answers: &[(String, String)],
    ) {
        let hidden: Hidden = calls
            .iter()
            .zip(answers)
            .map(|((id, call), (_, answer))| HiddenCall {
                id: id.clone(),
                arguments: serde_json::to_string(call).unwrap_or_default(),
                answer: answer.clone(),
            })
            .collect();
        let hidden = Arc::new(hidden);
        let mut h = self.hidden.lock().unwrap_or_else(|p| p.into_inner());
        for id in theirs {
            let key = format!("{namespace}\u{1f}{id}");
            if h.map.insert(key.clone(), hidden.clone()).is_none() {
                h.order.push_back(key);
            }
        }
        while h.order.len() > HIDDEN_MAX {
            if let Some(old) = h.order.pop_front() {
                h.map.remove(&old);
            }
        }
    }

    /// The hidden calls remembered under the client's call `id`.
    fn hidden(&self, namespace: &str, id: &str) -> Option<Hidden> {
        let h = self.hidden.lock().unwrap_or_else(|p| p.into_inner());
        h.map
            .get(&format!("{namespace}\u{1f}{id}"))
            .map(|c| c.as_ref().clone())
    }
}

/// How many client call ids the proxy remembers hidden calls for (oldest forgotten first).
const HIDDEN_MAX: usize = 10_000;

#[derive(Default)]
struct HiddenCalls {
    map: std::collections::HashMap<String, Arc<Hidden>>,
    order: std::collections::VecDeque<String>,
}

/// Serves `proxy` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish (streams included) before returning.
pub async fn serve(
    proxy: Arc<Proxy>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    cinch_core::warm(proxy.tokenizer);
    let app = Router::new()
        .route("/healthz", get(forward::healthz))
        .route("/stats", get(forward::stats))
        .route("/metrics", get(forward::metrics))
        .fallback(forward::handle)
        .with_state(proxy);
    // Without TCP_NODELAY, Nagle's algorithm holds a response's body (or an SSE event) written
    // after its headers until the client's delayed ACK: ~40 ms per response on Linux.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY on an accepted connection: {e}");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
