//! Message-level compression and the retrieval helpers on arbitrary request and response
//! bodies: never a panic; a rewritten body is still JSON with the same tool outputs in the
//! same places; the retrieval tool keeps a body JSON.
#![no_main]

use cinch_core::ccr::MemoryStore;
use cinch_core::messages::{compress_messages, retrieve, view, Api, Memo, Policy, Session};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let api = [Api::Anthropic, Api::OpenAiChat, Api::OpenAiResponses][pick as usize % 3];
    let store = MemoryStore::default();
    let memo = Memo::default();
    let session = Session {
        store: &store,
        namespace: "fuzz",
        memo: &memo,
        deadline: None,
        cancelled: None,
        tokenizer: cinch_core::Tokenizer::default(),
        free_text: cinch_core::FreeText::Deterministic,
    };
    let policy = Policy {
        min_bytes: 16,
        ..Policy::default()
    };
    let out = compress_messages(api, body, &policy, &session);
    let is_json = serde_json::from_slice::<serde_json::Value>(body).is_ok();
    if let Some(new) = &out.body {
        assert!(is_json, "only a JSON body is rewritten");
        let text = std::str::from_utf8(new).expect("a rewritten body is UTF-8");
        serde_json::from_str::<serde_json::Value>(text).expect("a rewritten body is JSON");
        let before = view::view(api, std::str::from_utf8(body).unwrap()).unwrap();
        let after = view::view(api, text).expect("a rewritten body has a view");
        assert_eq!(before.outputs.len(), after.outputs.len());
        for (a, b) in before.outputs.iter().zip(&after.outputs) {
            assert_eq!(a.tool, b.tool);
            assert_eq!(a.message, b.message);
        }
        // Same input, same bytes.
        assert_eq!(compress_messages(api, body, &policy, &session).body.as_ref(), Some(new));
    }
    if let Some(with) = retrieve::with_tool(api, body) {
        serde_json::from_slice::<serde_json::Value>(&with).expect("the tool keeps a body JSON");
    }
    // The same bytes as a model response.
    if let Some(calls) = retrieve::calls(api, body) {
        let answers: Vec<(String, String)> = calls
            .ours
            .iter()
            .map(|(id, c)| (id.clone(), retrieve::answer(&store, "fuzz", c)))
            .collect();
        let request = br#"{"messages": [], "input": []}"#;
        if let Some(next) = retrieve::continuation(api, request, body, &answers) {
            serde_json::from_slice::<serde_json::Value>(&next).expect("a continuation is JSON");
        }
        let _ = retrieve::without_ours(api, body);
    }
});
