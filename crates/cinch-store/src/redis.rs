use cinch_core::ccr::{Limits, StoreStats};
use cinch_core::{GetError, Key, Store, StoreError};
use redis::{Commands, Script, Value};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// A store on a Redis server, for several proxy replicas sharing one store.
///
/// Content lives under `cinch:c:NAMESPACE:KEY` with Redis's own expiry (refreshed by every
/// read), next to a marker `cinch:s:NAMESPACE:KEY` that outlives it by 30 days and says whether
/// the content expired or was evicted. A sorted set of last uses and a size per entry bound the
/// bytes held: past the capacity, the least recently used entries are evicted. Every change is
/// one Lua script, atomic across replicas. Every call has a connect, read and write timeout; a
/// connection that failed is opened afresh on the next call.
pub struct RedisStore {
    client: redis::Client,
    /// The URL without its password, for messages.
    shown: String,
    conn: Mutex<Option<redis::Connection>>,
    limits: Limits,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.shown)
            .field("limits", &self.limits)
            .finish()
    }
}

const TIMEOUT: Duration = Duration::from_secs(3);
/// Markers of gone entries outlive them by this much.
const GONE_KEEP: Duration = Duration::from_secs(30 * 24 * 3600);
const LRU: &str = "cinch:lru";
const SIZES: &str = "cinch:sizes";
const META: &str = "cinch:meta";

/// KEYS: content, marker, lru, sizes, meta. ARGV: content, ttl ms, marker ms, capacity, member.
const PUT: &str = r#"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local member = ARGV[5]
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  local old = redis.call('HGET', KEYS[4], member)
  if old then redis.call('HINCRBY', KEYS[5], 'bytes', -tonumber(old)) end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  local size = string.len(ARGV[1])
  redis.call('HSET', KEYS[4], member, size)
  redis.call('HINCRBY', KEYS[5], 'bytes', size)
end
redis.call('SET', KEYS[2], 'expired', 'PX', ARGV[3])
redis.call('ZADD', KEYS[3], now, member)
local capacity = tonumber(ARGV[4])
local bytes = tonumber(redis.call('HGET', KEYS[5], 'bytes') or '0')
while bytes > capacity do
  local oldest = redis.call('ZPOPMIN', KEYS[3])
  if #oldest == 0 then break end
  local m = oldest[1]
  if m == member then
    redis.call('ZADD', KEYS[3], now, member)
    break
  end
  local size = tonumber(redis.call('HGET', KEYS[4], m) or '0')
  redis.call('HDEL', KEYS[4], m)
  redis.call('HINCRBY', KEYS[5], 'bytes', -size)
  bytes = bytes - size
  if redis.call('DEL', 'cinch:c:' .. m) == 1 then
    redis.call('SET', 'cinch:s:' .. m, 'evicted', 'PX', ARGV[3])
    redis.call('HINCRBY', KEYS[5], 'evicted', 1)
  end
end
return 1
"#;

/// KEYS: content, marker, lru, meta. ARGV: ttl ms, marker ms, member.
const GET: &str = r#"
local v = redis.call('GET', KEYS[1])
if v then
  local t = redis.call('TIME')
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  redis.call('ZADD', KEYS[3], 'XX', t[1] * 1000 + math.floor(t[2] / 1000), ARGV[3])
  redis.call('HINCRBY', KEYS[4], 'hits', 1)
  return {1, v}
end
local gone = redis.call('GET', KEYS[2])
if gone then
  redis.call('HINCRBY', KEYS[4], 'expired', 1)
  return {2, gone}
end
redis.call('HINCRBY', KEYS[4], 'misses', 1)
return {0}
"#;

/// Drops the bookkeeping of entries whose content Redis has expired. KEYS: lru, sizes, meta.
/// ARGV: ttl ms. Returns how many.
const SWEEP: &str = r#"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
local n = 0
for _, m in ipairs(old) do
  if redis.call('EXISTS', 'cinch:c:' .. m) == 0 then
    redis.call('ZREM', KEYS[1], m)
    local size = tonumber(redis.call('HGET', KEYS[2], m) or '0')
    redis.call('HDEL', KEYS[2], m)
    redis.call('HINCRBY', KEYS[3], 'bytes', -size)
    n = n + 1
  end
end
return n
"#;

/// Removes one entry and its marker. KEYS: content, marker, lru, sizes, meta. ARGV: member.
const REMOVE: &str = r#"
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
local size = redis.call('HGET', KEYS[4], ARGV[1])
if size then
  redis.call('HDEL', KEYS[4], ARGV[1])
  redis.call('HINCRBY', KEYS[5], 'bytes', -tonumber(size))
end
return existed
"#;

fn member(namespace: &str, key: &str) -> String {
    format!("{namespace}:{key}")
}

/// Escapes a namespace for a SCAN pattern.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl RedisStore {
    /// Connects to the server at `url` (`redis://[:PASSWORD@]HOST:PORT/DB`).
    pub fn open(url: &str, limits: Limits) -> Result<RedisStore, StoreError> {
        let shown = match url.rsplit_once('@') {
            Some((_, host)) => format!("redis://…@{host}"),
            None => url.to_string(),
        };
        let client = redis::Client::open(url)
            .map_err(|e| StoreError(format!("bad Redis URL {shown}: {e}")))?;
        let store = RedisStore {
            client,
            shown,
            conn: Mutex::new(None),
            limits,
        };
        // Fail at open, not on the first put, when the server is not there.
        store.with(|c| redis::cmd("PING").query::<String>(c))?;
        Ok(store)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Option<redis::Connection>>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError("redis store poisoned by a panic".into()))
    }

    /// Runs `f` on a connection, opening one if needed; a failed call closes it.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        let mut slot = self.lock()?;
        if slot.is_none() {
            let conn = self
                .client
                .get_connection_with_timeout(TIMEOUT)
                .and_then(|c| {
                    c.set_read_timeout(Some(TIMEOUT))?;
                    c.set_write_timeout(Some(TIMEOUT))?;
                    Ok(c)
                })
                .map_err(|e| StoreError(format!("cannot reach Redis at {}: {e}", self.shown)))?;
            *slot = Some(conn);
        }
        let conn = slot.as_mut().expect("connection opened above");
        f(conn).map_err(|e| {
            *slot = None;
            StoreError(format!("Redis at {}: {e}", self.shown))
        })
    }

    fn ttl_ms(&self) -> u64 {
        self.limits.ttl.as_millis().min(u64::MAX as u128) as u64
    }

    fn marker_ms(&self) -> u64 {
        (self.limits.ttl + GONE_KEEP)
            .as_millis()
            .min(u64::MAX as u128) as u64
    }

    fn sweep(&self) -> Result<u64, StoreError> {
        self.with(|c| {
            Script::new(SWEEP)
                .key(LRU)
                .key(SIZES)
                .key(META)
                .arg(self.ttl_ms())
                .invoke(c)
        })
    }
}

impl Store for RedisStore {
    fn put(&self, namespace: &str, content: &[u8]) -> Result<Key, StoreError> {
        self.limits.check_fits(&[content])?;
        let key = Key::of(content);
        let m = member(namespace, key.as_str());
        self.with(|c| {
            Script::new(PUT)
                .key(format!("cinch:c:{m}"))
                .key(format!("cinch:s:{m}"))
                .key(LRU)
                .key(SIZES)
                .key(META)
                .arg(content)
                .arg(self.ttl_ms())
                .arg(self.marker_ms())
                .arg(self.limits.capacity)
                .arg(&m)
                .invoke::<i64>(c)
        })?;
        Ok(key)
    }

    fn put_many(&self, namespace: &str, contents: &[&[u8]]) -> Result<Vec<Key>, StoreError> {
        self.limits.check_fits(contents)?;
        contents.iter().map(|c| self.put(namespace, c)).collect()
    }

    fn get(&self, namespace: &str, key: &Key) -> Result<Vec<u8>, GetError> {
        let m = member(namespace, key.as_str());
        let reply: Vec<Value> = self.with(|c| {
            Script::new(GET)
                .key(format!("cinch:c:{m}"))
                .key(format!("cinch:s:{m}"))
                .key(LRU)
                .key(META)
                .arg(self.ttl_ms())
                .arg(self.marker_ms())
                .arg(&m)
                .invoke(c)
        })?;
        match reply.as_slice() {
            [Value::Int(1), Value::BulkString(content)] => Ok(content.clone()),
            [Value::Int(2), Value::BulkString(why)] if why.as_slice() == b"evicted" => {
                Err(GetError::Evicted(key.clone()))
            }
            [Value::Int(2), _] => Err(GetError::Expired(key.clone())),
            [Value::Int(0)] => Err(GetError::Unknown(key.clone())),
            other => Err(GetError::Backend(StoreError(format!(
                "unexpected reply from Redis at {}: {other:?}",
                self.shown
            )))),
        }
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.sweep()?;
        let (entries, meta): (u64, std::collections::HashMap<String, i64>) = self.with(|c| {
            redis::pipe()
                .cmd("ZCARD")
                .arg(LRU)
                .cmd("HGETALL")
                .arg(META)
                .query(c)
        })?;
        let get = |k: &str| meta.get(k).copied().unwrap_or(0).max(0) as u64;
        Ok(StoreStats {
            backend: "redis",
            entries,
            bytes: get("bytes"),
            hits: get("hits"),
            misses: get("misses"),
            expired: get("expired"),
            evicted: get("evicted"),
            ttl_secs: self.limits.ttl.as_secs(),
            capacity_bytes: self.limits.capacity,
        })
    }

    fn gc(&self) -> Result<u64, StoreError> {
        // Redis expires content itself; what is left is the bookkeeping of expired entries.
        self.sweep()
    }

    fn clear(&self, namespace: Option<&str>) -> Result<u64, StoreError> {
        let pattern = |kind: &str| match namespace {
            Some(ns) => format!("cinch:{kind}:{}:*", glob_escape(ns)),
            None => format!("cinch:{kind}:*"),
        };
        let scan = |pattern: String| -> Result<Vec<String>, StoreError> {
            self.with(|c| c.scan_match::<_, String>(&pattern)?.collect())
        };
        let mut removed = 0;
        for content_key in scan(pattern("c"))? {
            let m = content_key["cinch:c:".len()..].to_string();
            removed += self.with(|c| {
                Script::new(REMOVE)
                    .key(&content_key)
                    .key(format!("cinch:s:{m}"))
                    .key(LRU)
                    .key(SIZES)
                    .key(META)
                    .arg(&m)
                    .invoke::<u64>(c)
            })?;
        }
        let markers = scan(pattern("s"))?;
        if !markers.is_empty() {
            self.with(|c| redis::cmd("DEL").arg(&markers).query::<u64>(c))?;
        }
        if namespace.is_none() {
            self.with(|c| redis::cmd("DEL").arg(LRU).arg(SIZES).query::<u64>(c))?;
            self.with(|c| {
                redis::cmd("HSET")
                    .arg(META)
                    .arg("bytes")
                    .arg(0)
                    .query::<u64>(c)
            })?;
        }
        Ok(removed)
    }
}
