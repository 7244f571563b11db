// Shared by the forward benchmark, the `forward` example and the fast-path tests (included with
// `#[path]`), so that all three run the model on the same input.

/// `n` token ids spread over a vocabulary of `vocab`, above the special tokens, the same every
/// call (xorshift).
pub fn bench_ids(vocab: usize, n: usize) -> Vec<u32> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            5 + (x % (vocab as u64 - 5)) as u32
        })
        .collect()
}
