//! Which headers cross the proxy.
//!
//! Everything the client sends is forwarded (credentials, `anthropic-version`,
//! `anthropic-beta`, OpenAI organisation and project headers, anything new) except hop-by-hop
//! headers (RFC 9110 §7.6.1), the ones the HTTP client recomputes (`host`, `content-length`)
//! and cinch's own `x-cinch-*` headers, which are for the proxy only. Allow-lists break new
//! auth schemes, so the list here is of what is dropped.

use axum::http::{HeaderMap, HeaderName};

/// The prefix of cinch's own headers.
pub const OWN_PREFIX: &str = "x-cinch-";

/// Sent by the client to have the request forwarded without compression.
pub const BYPASS: &str = "x-cinch-bypass";

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
];

fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect()
}

fn dropped(name: &HeaderName, listed: &[String]) -> bool {
    let n = name.as_str();
    HOP_BY_HOP.contains(&n) || listed.iter().any(|l| l == n)
}

/// The client's headers as they go upstream. `identity`: ask for an uncompressed response
/// (when the proxy has to read it).
pub fn upstream(client: &HeaderMap, identity: bool) -> HeaderMap {
    let listed = connection_listed(client);
    let mut out = HeaderMap::with_capacity(client.len());
    for (name, value) in client {
        let n = name.as_str();
        if dropped(name, &listed)
            || n == "host"
            || n == "content-length"
            || n.starts_with(OWN_PREFIX)
            || (identity && n == "accept-encoding")
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// The upstream's response headers as they go to the client. `rebodied`: the proxy built the
/// body itself, so length and encoding no longer describe it.
pub fn downstream(upstream: &HeaderMap, rebodied: bool) -> HeaderMap {
    let listed = connection_listed(upstream);
    let mut out = HeaderMap::with_capacity(upstream.len());
    for (name, value) in upstream {
        let n = name.as_str();
        if dropped(name, &listed)
            || (rebodied && (n == "content-length" || n == "content-encoding"))
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// Whether the client asked for no compression.
pub fn bypass(client: &HeaderMap) -> bool {
    client
        .get(BYPASS)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

/// The credential that identifies the client's account: the store namespace is derived from
/// it, so one key can never read what another stored.
pub fn credential(client: &HeaderMap) -> Option<&[u8]> {
    ["x-api-key", "authorization", "api-key"]
        .iter()
        .find_map(|n| client.get(*n))
        .map(|v| v.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn credentials_go_through_and_hop_by_hop_headers_do_not() {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("x-api-key", "sk-ant-1"),
            ("authorization", "Bearer sk-ant-oat01-x"),
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "a,b"),
            ("openai-organization", "org-1"),
            ("openai-project", "proj-1"),
            ("connection", "keep-alive, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("host", "127.0.0.1:8787"),
            ("content-length", "12"),
            ("x-cinch-bypass", "1"),
            ("accept-encoding", "gzip"),
        ] {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        let up = upstream(&h, false);
        let names: Vec<&str> = up.keys().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "x-api-key",
                "authorization",
                "anthropic-version",
                "anthropic-beta",
                "openai-organization",
                "openai-project",
                "accept-encoding"
            ]
        );
        assert!(!upstream(&h, true).contains_key("accept-encoding"));
        assert!(bypass(&h));
        assert_eq!(credential(&h), Some(&b"sk-ant-1"[..]));
    }
}
