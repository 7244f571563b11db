//! `cinch proxy` as a user starts it: a config file, a free port, health, a clean stop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_proxy_starts_from_a_config_file_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cinch.toml");
    std::fs::write(
        &config,
        "anthropic_upstream = \"http://127.0.0.1:9\"\n\n[policy.tools.Grep]\ncompress = false\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cinch"))
        .args(["proxy", "--port", "0", "--store", "memory:", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    // "cinch proxy listening on http://127.0.0.1:PORT: ANTHROPIC_BASE_URL=..."
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split(": ").next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    assert!(
        addr.starts_with("127.0.0.1:"),
        "loopback by default: {addr}"
    );
    assert!(get(&addr, "/healthz").ends_with("ok\n"));
    assert!(get(&addr, "/metrics").contains("cinch_requests_total"));
    // SIGTERM: a graceful stop, exit status 0.
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn a_bad_config_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cinch.toml");
    std::fs::write(&config, "[policy]\nmin_byte = 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cinch"))
        .args(["proxy", "--port", "0", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("min_byte"), "{err}");
}
