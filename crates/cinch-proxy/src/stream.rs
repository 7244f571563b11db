//! Talking to the upstream: one exchange, or several when the model calls the retrieval tool.
//!
//! Without the retrieval tool the response is relayed untouched as it arrives. With it, the
//! proxy reads what the model says: a whole JSON response is checked for retrieval calls here,
//! a stream is filtered event by event in [`crate::rounds`].

use crate::forward::{self, Outbound};
use crate::Proxy;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cinch_core::messages::retrieve::{self, Call};
use cinch_core::messages::Api;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub(crate) async fn send(
    p: &Proxy,
    out: &Outbound,
    body: Bytes,
) -> Result<reqwest::Response, reqwest::Error> {
    let request = || {
        p.client
            .request(out.method.clone(), &out.url)
            .headers(out.headers.clone())
            .body(body.clone())
    };
    match request().send().await {
        // Nothing reached the upstream when the connection failed: trying again is safe.
        Err(e) if e.is_connect() => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            request().send().await
        }
        other => other,
    }
}

/// Sends the request and answers the client.
pub async fn exchange(p: Arc<Proxy>, out: Outbound, label: &'static str) -> Response {
    let resp = match send(&p, &out, out.body.clone()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(api = label, error = %e, "upstream unreachable");
            out.record(&p, label, 0, 0, 0);
            return forward::unreachable(out.api, &e);
        }
    };
    let status = resp.status();
    let sse = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    match (out.api, out.retrieval && status.is_success()) {
        (Some(api), true) if sse => crate::rounds::relay_for(api, p, out, resp, label),
        (Some(api), true) if !sse => json_rounds(p, out, resp, api, label).await,
        _ => {
            out.record(&p, label, status.as_u16(), 0, 0);
            forward::relay(resp, out.report.as_ref())
        }
    }
}

/// The answers to retrieval calls, looked up off the async threads.
pub(crate) async fn answers(
    p: &Arc<Proxy>,
    namespace: &str,
    calls: Vec<(String, Call)>,
) -> Vec<(String, String)> {
    let p = p.clone();
    let ns = namespace.to_string();
    tokio::task::spawn_blocking(move || {
        calls
            .into_iter()
            .map(|(id, call)| (id, retrieve::answer(&*p.store, &ns, &call)))
            .collect()
    })
    .await
    .unwrap_or_default()
}

/// Whole JSON responses: answer retrieval calls until the model says something else.
async fn json_rounds(
    p: Arc<Proxy>,
    out: Outbound,
    mut resp: reqwest::Response,
    api: Api,
    label: &'static str,
) -> Response {
    let mut body = out.body.clone();
    let (mut rounds, mut answered) = (0, 0);
    loop {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = match forward::read_whole(resp).await {
            Ok(b) => b,
            Err(e) => {
                out.record(&p, label, 0, answered, rounds);
                return forward_error(api, &e);
            }
        };
        let calls = match retrieve::calls(api, &bytes) {
            Some(c) if status.is_success() && !c.ours.is_empty() => Some(c),
            _ => None,
        };
        if let Some(c) = calls.as_ref().filter(|c| !c.theirs.is_empty()) {
            // The client gets its calls now; ours come back in its next request.
            answered += c.ours.len();
            let results = answers(&p, &out.namespace, c.ours.clone()).await;
            p.hide(&out.namespace, &c.theirs, &c.ours, &results);
        }
        let finish = |bytes: Vec<u8>| {
            out.record(&p, label, status.as_u16(), answered, rounds);
            forward::whole(status, &headers, bytes, out.report.as_ref(), answered)
        };
        let Some(calls) = calls else {
            return finish(bytes);
        };
        if !calls.theirs.is_empty() || rounds >= p.config.max_retrieval_rounds {
            // The client must not see a tool it did not define.
            let visible = retrieve::without_ours(api, &bytes).unwrap_or(bytes);
            return finish(visible);
        }
        let n = calls.ours.len();
        let results = answers(&p, &out.namespace, calls.ours).await;
        let Some(next) = retrieve::continuation(api, &body, &bytes, &results) else {
            let visible = retrieve::without_ours(api, &bytes).unwrap_or(bytes);
            return finish(visible);
        };
        body = Bytes::from(next);
        rounds += 1;
        answered += n;
        resp = match send(&p, &out, body.clone()).await {
            Ok(r) => r,
            Err(e) => {
                out.record(&p, label, 0, answered, rounds);
                return forward::unreachable(Some(api), &e);
            }
        };
    }
}

fn forward_error(api: Api, e: &str) -> Response {
    let body = if api == Api::Anthropic {
        json!({"type": "error", "error": {"type": "api_error", "message": format!("cinch proxy: {e}")}})
    } else {
        json!({"error": {"message": format!("cinch proxy: {e}"), "type": "upstream_error"}})
    };
    forward::whole(
        StatusCode::BAD_GATEWAY,
        &HeaderMap::new(),
        body.to_string().into_bytes(),
        None,
        0,
    )
}
