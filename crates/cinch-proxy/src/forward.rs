//! Request handling: read, compress, forward, relay.

use crate::headers;
use crate::stream;
use crate::Proxy;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use cinch_core::messages::{self, retrieve, Api, MessagesReport, Session};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Largest upstream JSON response the proxy reads whole (when it must look for retrieval
/// calls in it).
const MAX_RESPONSE: usize = 64 << 20;

pub async fn healthz() -> &'static str {
    "ok\n"
}

pub async fn stats(State(p): State<Arc<Proxy>>) -> Response {
    let store = match p.store.stats() {
        Ok(s) => serde_json::to_value(s).unwrap_or_default(),
        Err(e) => serde_json::json!({"error": e.to_string()}),
    };
    let mut v = p.stats.json(store);
    v["memo_decisions"] = serde_json::json!(p.memo.decisions());
    json_response(StatusCode::OK, &v)
}

pub async fn metrics(State(p): State<Arc<Proxy>>) -> Response {
    let mut r = p.stats.prometheus().into_response();
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

fn json_response(status: StatusCode, v: &serde_json::Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// An error the proxy itself answers, in the shape of the API's own errors so the client's
/// SDK can read it.
fn error(api: Option<Api>, status: StatusCode, kind: &str, message: &str) -> Response {
    let body = match api {
        Some(Api::Anthropic) => serde_json::json!({
            "type": "error",
            "error": {"type": kind, "message": message},
        }),
        _ => serde_json::json!({
            "error": {"message": message, "type": kind, "param": null, "code": null},
        }),
    };
    json_response(status, &body)
}

/// Which API a request speaks, by method and path.
fn api_of(method: &Method, path: &str) -> Option<Api> {
    if method != Method::POST {
        return None;
    }
    match path.trim_end_matches('/') {
        "/v1/messages" => Some(Api::Anthropic),
        "/v1/chat/completions" => Some(Api::OpenAiChat),
        "/v1/responses" => Some(Api::OpenAiResponses),
        _ => None,
    }
}

/// Whether a request goes to Anthropic: its paths, or its headers on a shared path.
fn is_anthropic(path: &str, h: &HeaderMap) -> bool {
    path.starts_with("/v1/messages")
        || path.starts_with("/v1/complete")
        || h.contains_key("anthropic-version")
        || h.contains_key("x-api-key")
}

fn upstream_url(base: &str, path_and_query: &str) -> String {
    let base = base.trim_end_matches('/');
    // A base given with its `/v1` (as OPENAI_BASE_URL usually is) must not double it.
    let base = match base.strip_suffix("/v1") {
        Some(b) if path_and_query.starts_with("/v1/") => b,
        _ => base,
    };
    format!("{base}{path_and_query}")
}

/// The store namespace of a credential: a hash, so the store never holds the key itself.
fn namespace(h: &HeaderMap) -> String {
    match headers::credential(h) {
        Some(c) => format!("key-{}", &blake3::hash(c).to_hex()[..16]),
        None => "anonymous".into(),
    }
}

/// Sets the flag when dropped: the handler's future is dropped when the client goes away.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What the request became on its way upstream.
pub struct Outbound {
    pub api: Option<Api>,
    pub url: String,
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub namespace: String,
    /// The retrieval tool was added: the proxy must read the response.
    pub retrieval: bool,
    pub report: Option<MessagesReport>,
    pub compress_us: u64,
}

impl Outbound {
    /// Counts the finished request: its upstream status (0 when unreachable), the retrieval
    /// calls answered and the rounds continued.
    pub fn record(
        &self,
        p: &Proxy,
        label: &'static str,
        status: u16,
        retrievals: usize,
        rounds: usize,
    ) {
        let report = self.report.as_ref();
        p.stats
            .request(label, status, report, self.compress_us, retrievals, rounds);
    }
}

pub async fn handle(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let api = api_of(&parts.method, &path);
    let limit = p.config.max_body_bytes;
    let declared = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        p.stats.too_large();
        error(
            api,
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
            &format!("the request body is larger than the proxy's limit of {limit} bytes (max_body_bytes)"),
        )
    };
    if declared.is_some_and(|n| n > limit) {
        return too_large();
    }
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if over {
                return too_large();
            }
            return error(
                api,
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!("could not read the request body: {e}"),
            );
        }
    };
    let base = if is_anthropic(&path, &parts.headers) {
        &p.config.anthropic_upstream
    } else {
        &p.config.openai_upstream
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let mut out = Outbound {
        api,
        url: upstream_url(base, path_and_query),
        method: parts.method.clone(),
        headers: HeaderMap::new(),
        body: body.clone(),
        namespace: namespace(&parts.headers),
        retrieval: false,
        report: None,
        compress_us: 0,
    };
    if let (Some(api), false) = (api, headers::bypass(&parts.headers)) {
        let cancelled = Arc::new(AtomicBool::new(false));
        let _guard = CancelOnDrop(cancelled.clone());
        let started = Instant::now();
        let prepared = prepare(&p, api, body, &out.namespace, cancelled).await;
        out.compress_us = started.elapsed().as_micros() as u64;
        if let Some(prepared) = prepared {
            out.body = prepared.body;
            out.retrieval = prepared.retrieval;
            out.report = Some(prepared.report);
        }
    }
    out.headers = headers::upstream(&parts.headers, out.retrieval);
    let label = api.map_or("passthrough", Api::name);
    stream::exchange(p.clone(), out, label).await
}

/// A request body ready for the upstream.
struct Prepared {
    body: Bytes,
    /// The retrieval tool was added.
    retrieval: bool,
    report: MessagesReport,
}

/// Prepares a request body off the async threads, within the request's deadline: retrieval
/// calls kept from the client go back where the model made them, tool outputs are compressed,
/// and the retrieval tool is added when the body needs it. `None` if that failed (a bug): the
/// client's body then goes upstream unchanged.
async fn prepare(
    p: &Arc<Proxy>,
    api: Api,
    body: Bytes,
    namespace: &str,
    cancelled: Arc<AtomicBool>,
) -> Option<Prepared> {
    let p2 = p.clone();
    let ns = namespace.to_string();
    let deadline = Instant::now() + p.config.compress_deadline();
    let task = tokio::task::spawn_blocking(move || {
        let restored = messages::hidden::reinsert(api, &body, &|id| p2.hidden(&ns, id));
        let calls_back = restored.is_some();
        let body = restored.map(Bytes::from).unwrap_or(body);
        let session = Session {
            store: &*p2.store,
            namespace: &ns,
            memo: &p2.memo,
            deadline: Some(deadline),
            cancelled: Some(&cancelled),
            tokenizer: p2.tokenizer,
            free_text: p2.free_text.clone(),
        };
        let c = messages::compress_messages(api, &body, &p2.config.policy, &session);
        let body = c.body.map(Bytes::from).unwrap_or(body);
        // A history with retrieval calls in it needs the tool defined, markers or not.
        let with_tool = (calls_back || c.report.markers)
            .then(|| retrieve::with_tool(api, &body))
            .flatten();
        Prepared {
            retrieval: with_tool.is_some(),
            body: with_tool.map(Bytes::from).unwrap_or(body),
            report: c.report,
        }
    });
    match task.await {
        Ok(prepared) => Some(prepared),
        Err(e) => {
            // A bug must not cost the agent its request: the original goes upstream.
            tracing::error!(error = %e, "message compression failed; forwarding the request unchanged");
            None
        }
    }
}

/// The `x-cinch-*` headers of a response.
pub fn report_headers(h: &mut HeaderMap, report: Option<&MessagesReport>, retrievals: usize) {
    let Some(r) = report else { return };
    let mut set = |name: &'static str, v: usize| {
        h.insert(name, HeaderValue::from(v as u64));
    };
    set("x-cinch-tokens-before", r.tokens_before);
    set("x-cinch-tokens-after", r.tokens_after);
    set(
        "x-cinch-outputs-compressed",
        r.outputs
            .iter()
            .filter(|o| o.action == "compressed")
            .count(),
    );
    if retrievals > 0 {
        set("x-cinch-retrievals", retrievals);
    }
}

/// A response to the client from an upstream response whose body is relayed as it arrives.
pub fn relay(upstream: reqwest::Response, report: Option<&MessagesReport>) -> Response {
    let status = upstream.status();
    let mut headers = headers::downstream(upstream.headers(), false);
    report_headers(&mut headers, report, 0);
    let mut r = Response::new(Body::from_stream(upstream.bytes_stream()));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

/// A response to the client with a body the proxy built or read whole.
pub fn whole(
    status: StatusCode,
    upstream: &HeaderMap,
    body: Vec<u8>,
    report: Option<&MessagesReport>,
    retrievals: usize,
) -> Response {
    let mut headers = headers::downstream(upstream, true);
    report_headers(&mut headers, report, retrievals);
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

/// Reads a response body whole, up to [`MAX_RESPONSE`].
pub async fn read_whole(resp: reqwest::Response) -> Result<Vec<u8>, String> {
    use futures_util::StreamExt;
    let mut body = Vec::new();
    let mut s = resp.bytes_stream();
    while let Some(chunk) = s.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        if body.len() + chunk.len() > MAX_RESPONSE {
            return Err(format!(
                "the upstream response is larger than {MAX_RESPONSE} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The proxy's answer when the upstream cannot be reached.
pub fn unreachable(api: Option<Api>, e: &reqwest::Error) -> Response {
    let status = if e.is_timeout() {
        StatusCode::GATEWAY_TIMEOUT
    } else {
        StatusCode::BAD_GATEWAY
    };
    let msg = format!("cinch proxy: the upstream could not be reached: {e}");
    let kind = if api == Some(Api::Anthropic) {
        "api_error"
    } else {
        "upstream_error"
    };
    error(api, status, kind, &msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls_join_without_doubling_v1() {
        assert_eq!(
            upstream_url("https://api.openai.com", "/v1/chat/completions"),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            upstream_url("https://api.openai.com/v1/", "/v1/responses?x=1"),
            "https://api.openai.com/v1/responses?x=1"
        );
        assert_eq!(
            upstream_url("http://127.0.0.1:9/", "/api/other"),
            "http://127.0.0.1:9/api/other"
        );
    }

    #[test]
    fn routes_pick_the_api() {
        assert_eq!(api_of(&Method::POST, "/v1/messages"), Some(Api::Anthropic));
        assert_eq!(api_of(&Method::POST, "/v1/messages/count_tokens"), None);
        assert_eq!(api_of(&Method::GET, "/v1/messages"), None);
        assert_eq!(
            api_of(&Method::POST, "/v1/chat/completions"),
            Some(Api::OpenAiChat)
        );
        assert_eq!(
            api_of(&Method::POST, "/v1/responses"),
            Some(Api::OpenAiResponses)
        );
    }
}
