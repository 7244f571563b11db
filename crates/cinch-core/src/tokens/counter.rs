//! Counting for one compression call, with the input counted on a second thread.

use super::{PieceCounts, Tokenizer};
use std::cell::{Cell, RefCell};
use std::sync::mpsc::{sync_channel, Receiver, TryRecvError};
use std::thread::Scope;

/// Texts from this size on wait for the helper's piece cache before they are counted.
const WAIT_MIN: usize = 16 * 1024;

/// Counts the input and the candidates of one compression call.
///
/// A large input is counted on a helper thread while the calling thread compresses it. The
/// candidates are made of the input's pieces, so once the helper is done the counter takes over
/// its piece cache: a warm cache counts several times faster than a cold one. A large candidate
/// waits for that (the input's count is needed before the call ends anyway); a small one does
/// not, so that compressing and counting the input still overlap.
pub struct Counter<'i> {
    tokenizer: Tokenizer,
    input: &'i str,
    /// The helper's count and piece cache, until they are taken.
    helper: RefCell<Option<Receiver<(usize, PieceCounts)>>>,
    input_tokens: Cell<Option<usize>>,
}

impl<'i> Counter<'i> {
    /// A counter that counts everything on the calling thread, the input when first asked.
    pub fn new(tokenizer: Tokenizer, input: &'i str) -> Self {
        Counter {
            tokenizer,
            input,
            helper: RefCell::new(None),
            input_tokens: Cell::new(None),
        }
    }

    /// A counter that starts counting `input` on a thread of `scope` right away.
    pub fn in_background<'scope>(
        scope: &'scope Scope<'scope, '_>,
        tokenizer: Tokenizer,
        input: &'i str,
    ) -> Self
    where
        'i: 'scope,
    {
        let (send, receive) = sync_channel(1);
        scope.spawn(move || {
            // A panic here would resurface when the scope ends; without a count from here the
            // calling thread counts the input itself.
            let counted = std::panic::catch_unwind(|| tokenizer.count(input));
            if let Ok(n) = counted {
                let _ = send.send((n, tokenizer.take_pieces()));
            }
        });
        Counter {
            helper: RefCell::new(Some(receive)),
            ..Counter::new(tokenizer, input)
        }
    }

    /// Adopts what the helper learned, if there is a helper and it is done or `wait`.
    fn settle(&self, wait: bool) {
        let mut helper = self.helper.borrow_mut();
        let Some(receiver) = helper.as_ref() else {
            return;
        };
        let done = if wait {
            receiver.recv().map_err(|_| TryRecvError::Disconnected)
        } else {
            receiver.try_recv()
        };
        match done {
            Ok((n, pieces)) => {
                pieces.adopt();
                self.input_tokens.set(Some(n));
            }
            Err(TryRecvError::Empty) => return,
            // The helper died: the input is counted here when asked.
            Err(TryRecvError::Disconnected) => {}
        }
        *helper = None;
    }

    /// The input's token count.
    pub fn input_tokens(&self) -> usize {
        self.settle(true);
        if let Some(n) = self.input_tokens.get() {
            return n;
        }
        let n = self.tokenizer.count(self.input);
        self.input_tokens.set(Some(n));
        n
    }

    /// The input's token count if it is at most `limit`, else `None`. Unlike
    /// [`Counter::input_tokens`] this does not wait for the helper: counting stops at the limit,
    /// so with a small limit it costs little, and compressing need not wait for the whole count.
    pub fn input_up_to(&self, limit: usize) -> Option<usize> {
        self.settle(false);
        match self.input_tokens.get() {
            Some(n) => (n <= limit).then_some(n),
            None => self.tokenizer.count_up_to(self.input, limit),
        }
    }

    /// The exact token count of `text`.
    pub fn count(&self, text: &str) -> usize {
        self.settle(text.len() >= WAIT_MIN);
        self.tokenizer.count(text)
    }

    /// The exact token count of `text` if it is at most `limit`.
    pub fn count_up_to(&self, text: &str, limit: usize) -> Option<usize> {
        // Counting stops at the limit: only a text that may be counted far waits.
        self.settle(text.len() >= WAIT_MIN && limit.saturating_mul(4) >= WAIT_MIN);
        self.tokenizer.count_up_to(text, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_helper_counts_the_same_and_leaves_its_pieces_here() {
        let input = "{\"zebra_unusual_key\": 12345, \"quokka\": \"marsupial\"}".repeat(50);
        let t = Tokenizer::O200kBase;
        let expected = t.count(&input);
        std::thread::scope(|scope| {
            // A fresh thread, so that its cache starts empty.
            scope
                .spawn(|| {
                    std::thread::scope(|inner| {
                        let counter = Counter::in_background(inner, t, &input);
                        assert_eq!(counter.count(&input), expected);
                        assert_eq!(counter.input_tokens(), expected);
                    });
                    let cached =
                        super::super::PIECE_CACHE.with(|c| c.borrow()[t as usize].len() > 5);
                    assert!(cached, "the helper's pieces were adopted");
                })
                .join()
                .unwrap();
        });
    }

    #[test]
    fn the_input_is_compared_with_a_limit_without_waiting_for_the_helper() {
        let input = "word ".repeat(50_000);
        let total = Tokenizer::O200kBase.count(&input);
        std::thread::scope(|s| {
            let counter = Counter::in_background(s, Tokenizer::O200kBase, &input);
            assert_eq!(counter.input_up_to(100), None);
            assert_eq!(counter.input_up_to(total), Some(total));
            assert_eq!(counter.input_up_to(total - 1), None);
            assert_eq!(counter.input_tokens(), total);
            assert_eq!(counter.input_up_to(total - 1), None);
        });
        let counter = Counter::new(Tokenizer::O200kBase, "two words");
        assert_eq!(counter.input_up_to(10), Some(2));
        assert_eq!(counter.input_up_to(1), None);
    }

    #[test]
    fn without_a_helper_the_input_is_counted_when_asked() {
        let counter = Counter::new(Tokenizer::Cl100kBase, "hello world");
        assert_eq!(counter.input_tokens(), 2);
        assert_eq!(counter.count_up_to("hello world", 1), None);
    }
}
