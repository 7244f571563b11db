//! A proxy under test, in process, with the mock upstream as both of its upstreams.

use super::MockUpstream;
use cinch_core::ccr::MemoryStore;
use cinch_proxy::{serve, Config, Proxy};
use std::sync::Arc;

/// A running proxy: its URL, its store, and how to stop it.
pub struct Running {
    pub url: String,
    pub store: Arc<MemoryStore>,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub done: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts a proxy on 127.0.0.1 (any free port); `tweak` adjusts its settings.
pub async fn start_proxy(upstream: &MockUpstream, tweak: impl FnOnce(&mut Config)) -> Running {
    let mut config = Config {
        anthropic_upstream: upstream.url(),
        openai_upstream: upstream.url(),
        ..Config::default()
    };
    tweak(&mut config);
    let store = Arc::new(MemoryStore::default());
    let proxy = Arc::new(Proxy::new(config, store.clone()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(serve(proxy, listener, async {
        let _ = rx.await;
    }));
    Running {
        url,
        store,
        stop: tx,
        done,
    }
}
