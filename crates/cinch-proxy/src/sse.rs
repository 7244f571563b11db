//! Server-sent events, cut from a byte stream as they arrive.

/// One event: its raw bytes (as received, blank line included) and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The bytes as received.
    pub raw: Vec<u8>,
    /// The `event:` field, if any.
    pub name: Option<String>,
    /// The `data:` lines joined by `\n`.
    pub data: String,
}

/// Cuts events out of chunks that may split them anywhere.
#[derive(Default)]
pub struct Parser {
    buf: Vec<u8>,
    /// How far `buf` has been searched for a blank line (so a long event arriving in many
    /// chunks is scanned once, not once per chunk).
    scanned: usize,
}

/// Longest event accepted (a tool call's whole input can arrive in one event).
const MAX_EVENT: usize = 16 << 20;

impl Parser {
    /// Feeds a chunk; returns the events it completed. `Err` when an event grows past
    /// [`MAX_EVENT`] without ending.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Event>, String> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = boundary(&self.buf, self.scanned.saturating_sub(2)) {
            let raw: Vec<u8> = self.buf.drain(..end).collect();
            events.push(parse(raw));
            self.scanned = 0;
        }
        self.scanned = self.buf.len();
        if self.buf.len() > MAX_EVENT {
            return Err(format!("an event is longer than {MAX_EVENT} bytes"));
        }
        Ok(events)
    }

    /// What is left when the stream ends (an event without its blank line), if anything.
    pub fn finish(&mut self) -> Option<Event> {
        let raw = std::mem::take(&mut self.buf);
        self.scanned = 0;
        (!raw.iter().all(u8::is_ascii_whitespace)).then(|| parse(raw))
    }
}

/// The end (exclusive) of the first complete event: after the first blank line, searched
/// from `from`.
fn boundary(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        if buf[i] == b'\n' {
            match buf.get(i + 1) {
                Some(b'\n') => return Some(i + 2),
                Some(b'\r') if buf.get(i + 2) == Some(&b'\n') => return Some(i + 3),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

fn parse(raw: Vec<u8>) -> Event {
    let text = String::from_utf8_lossy(&raw);
    let mut name = None;
    let mut data: Vec<&str> = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => name = Some(value.to_string()),
            "data" => data.push(value),
            _ => {}
        }
    }
    let data = data.join("\n");
    Event { raw, name, data }
}

/// An event built by the proxy.
pub fn event(name: &str, data: &str) -> Vec<u8> {
    format!("event: {name}\ndata: {data}\n\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let stream = b"event: ping\ndata: {}\n\nevent: message_start\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\ndata: [DONE]\n\n";
        for cut in 0..stream.len() {
            let mut p = Parser::default();
            let mut got = p.feed(&stream[..cut]).unwrap();
            got.extend(p.feed(&stream[cut..]).unwrap());
            assert!(p.finish().is_none());
            assert_eq!(got.len(), 3, "cut at {cut}");
            assert_eq!(got[0].name.as_deref(), Some("ping"));
            assert_eq!(got[1].data, "{\"a\":\n1}");
            assert_eq!(got[2].name, None);
            assert_eq!(got[2].data, "[DONE]");
            let raw: Vec<u8> = got.iter().flat_map(|e| e.raw.clone()).collect();
            assert_eq!(raw, stream);
        }
    }

    #[test]
    fn an_unfinished_event_is_handed_back_at_the_end() {
        let mut p = Parser::default();
        assert!(p.feed(b"data: x").unwrap().is_empty());
        assert_eq!(p.finish().unwrap().data, "x");
    }
}
