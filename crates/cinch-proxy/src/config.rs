//! The proxy's settings: command-line values over a TOML file over defaults.

use cinch_core::messages::Policy;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// Everything the proxy needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where to listen. Loopback by default: the proxy forwards credentials.
    pub listen: SocketAddr,
    /// Base URL of the Anthropic API.
    pub anthropic_upstream: String,
    /// Base URL of the OpenAI API (without `/v1`).
    pub openai_upstream: String,
    /// Store URL (see `cinch_store::open`); `None` for the default SQLite file.
    pub store: Option<String>,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Time allowed for compressing one request, in milliseconds; past it the rest of the
    /// request goes upstream as the client sent it.
    pub compress_deadline_ms: u64,
    /// Time allowed to connect to the upstream, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Longest silence from the upstream before a response is abandoned, in milliseconds
    /// (long: models think before they speak).
    pub read_timeout_ms: u64,
    /// How many times in a row the proxy answers the model's retrieval calls itself before
    /// handing the response to the client.
    pub max_retrieval_rounds: usize,
    /// How long in-flight requests may take to finish on shutdown, in milliseconds.
    pub shutdown_grace_ms: u64,
    /// Which tool outputs are compressed.
    pub policy: Policy,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            anthropic_upstream: "https://api.anthropic.com".into(),
            openai_upstream: "https://api.openai.com".into(),
            store: None,
            max_body_bytes: 32 << 20,
            compress_deadline_ms: 2_000,
            connect_timeout_ms: 10_000,
            read_timeout_ms: 600_000,
            max_retrieval_rounds: 3,
            shutdown_grace_ms: 30_000,
            policy: Policy::default(),
        }
    }
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {0}: {1}")]
    Read(String, std::io::Error),
    /// The file is not valid TOML for a config.
    #[error("config file {0}: {1}")]
    Parse(String, String),
    /// A value is out of range.
    #[error("config: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads a TOML config file. Unknown keys are errors, so a typo is not silently ignored.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(name.clone(), e))?;
        Config::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse(_, m) => ConfigError::Parse(name, m),
            other => other,
        })
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::Parse(String::new(), e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    /// Checks ranges and URLs.
    pub fn check(&self) -> Result<(), ConfigError> {
        for (name, url) in [
            ("anthropic_upstream", &self.anthropic_upstream),
            ("openai_upstream", &self.openai_upstream),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be an http:// or https:// URL, not {url:?}"
                )));
            }
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::Invalid(
                "max_body_bytes must be positive".into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn compress_deadline(&self) -> Duration {
        Duration::from_millis(self.compress_deadline_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_sets_the_policy_table() {
        let c = Config::from_toml(
            r#"
listen = "127.0.0.1:9000"
anthropic_upstream = "http://127.0.0.1:1234"

[policy]
min_bytes = 100

[policy.tools.Bash]
budget = 500
kind = "log"

[policy.tools.Grep]
compress = false
"#,
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.policy.min_bytes, 100);
        assert_eq!(c.policy.tools["Bash"].budget, Some(500));
        assert_eq!(c.policy.tools["Bash"].kind, Some(cinch_core::Kind::Log));
        assert!(!c.policy.tools["Grep"].compress);
        assert_eq!(c.openai_upstream, "https://api.openai.com");
    }

    #[test]
    fn mistakes_are_errors() {
        for bad in [
            "lisen = \"127.0.0.1:1\"",
            "anthropic_upstream = \"ftp://x\"",
            "[policy]\nmin_byte = 1",
            "max_body_bytes = 0",
            "listen = 5",
        ] {
            assert!(Config::from_toml(bad).is_err(), "{bad}");
        }
    }
}
