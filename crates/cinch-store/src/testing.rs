//! A throwaway `redis-server` for tests and benchmarks.

use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A real `redis-server` on a loopback port, with its own working directory and no
/// persistence; stopped (and its directory removed) on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    dir: PathBuf,
    /// `redis://127.0.0.1:PORT/0`.
    pub url: String,
    /// The port it listens on.
    pub port: u16,
}

impl RedisServer {
    /// Starts a server on a free port.
    pub fn start() -> io::Result<RedisServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        RedisServer::on(port)
    }

    /// Starts a server on `port` and waits (up to 10 s) until it accepts connections.
    pub fn on(port: u16) -> io::Result<RedisServer> {
        let dir = std::env::temp_dir().join(format!("cinch-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no", "--dir"])
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot start redis-server (apt-get install redis-server): {e}"),
                )
            })?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline || child.try_wait()?.is_some() {
                let _ = child.kill();
                return Err(io::Error::other(format!(
                    "redis-server did not start on port {port}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(RedisServer {
            child,
            dir,
            url: format!("redis://127.0.0.1:{port}/0"),
            port,
        })
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
