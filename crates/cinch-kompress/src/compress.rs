//! The Kompress algorithm: score every word with the model, chunk by chunk, keep the words the
//! model keeps plus the protected and fact-carrying ones, and put the kept words back where they
//! were (lines, indentation and blank lines stay; a dropped run becomes one space).

use crate::words::{words, Word};
use crate::{KompressError, TokenScorer};
use std::time::Instant;

/// How Kompress decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Words per chunk given to the model at once.
    pub chunk_words: usize,
    /// Most tokens per chunk (special tokens included); a chunk over it is split, never cut.
    pub max_tokens: usize,
    /// A word stays if its best token scores above this.
    pub threshold: f32,
    /// If set, keep this share of each chunk's scored words (the best-scored), instead of the
    /// threshold.
    pub target_ratio: Option<f32>,
    /// Texts with fewer words are left alone.
    pub min_words: usize,
}

impl Default for Settings {
    /// The peer's published defaults: 350-word chunks, 512 tokens, threshold 0.5.
    fn default() -> Self {
        Settings {
            chunk_words: 350,
            max_tokens: 512,
            threshold: 0.5,
            target_ratio: None,
            min_words: 10,
        }
    }
}

/// What Kompress made of a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Compressed {
    /// The kept words in their places.
    pub text: String,
    /// Words in the input.
    pub words: usize,
    /// Words in the output.
    pub kept: usize,
    /// Words kept because they carry facts although the model would drop them.
    pub kept_as_facts: usize,
    /// Words the model never saw (protected, or one word longer than a whole chunk).
    pub unscored: usize,
    /// Lines in the input and in the output.
    pub lines_before: usize,
    /// Lines in the output.
    pub lines_after: usize,
}

/// Compresses `text` with `model`. `deadline`, if given, is checked before each chunk: past it,
/// the call fails with [`KompressError::Deadline`] rather than keep the caller waiting.
pub fn compress_text(
    model: &dyn TokenScorer,
    text: &str,
    settings: &Settings,
    deadline: Option<Instant>,
) -> Result<Compressed, KompressError> {
    let all = words(text);
    if all.len() < settings.min_words.max(1) {
        return Err(KompressError::TooShort(all.len()));
    }
    let mut keep: Vec<bool> = all.iter().map(|w| w.protected).collect();
    let scored: Vec<usize> = (0..all.len()).filter(|&i| !all[i].protected).collect();
    let max_tokens = settings.max_tokens.min(model.max_tokens()).max(3);
    let mut unscored = all.len() - scored.len();
    let mut facts = 0;
    let mut pending: Vec<&[usize]> = scored.chunks(settings.chunk_words.max(1)).rev().collect();
    while let Some(chunk) = pending.pop() {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(KompressError::Deadline);
        }
        let texts: Vec<&str> = chunk
            .iter()
            .map(|&i| &text[all[i].start..all[i].end])
            .collect();
        let encoded = model.encode_words(&texts)?;
        if encoded.ids.len() > max_tokens {
            if chunk.len() == 1 {
                // One word longer than a chunk: nothing to compare it with; it stays.
                keep[chunk[0]] = true;
                unscored += 1;
            } else {
                let (a, b) = chunk.split_at(chunk.len() / 2);
                pending.push(b);
                pending.push(a);
            }
            continue;
        }
        let scores = model.keep_scores(&encoded.ids)?;
        let mut best = vec![f32::NEG_INFINITY; chunk.len()];
        for (s, w) in scores.iter().zip(&encoded.word_ids) {
            if let Some(w) = w.and_then(|w| best.get_mut(w as usize)) {
                *w = w.max(*s);
            }
        }
        let chosen = choose(&best, settings);
        for ((&i, chosen), score) in chunk.iter().zip(chosen).zip(&best) {
            // A word that made no token (one the normaliser removes) was never judged.
            let model_keeps = chosen || *score == f32::NEG_INFINITY;
            let fact = all[i].fact;
            if fact && !model_keeps {
                facts += 1;
            }
            keep[i] = model_keeps || fact;
        }
    }
    let kept = keep.iter().filter(|&&k| k).count();
    let (out, lines_after) = rebuild(text, &all, &keep);
    Ok(Compressed {
        text: out,
        words: all.len(),
        kept,
        kept_as_facts: facts,
        unscored,
        lines_before: text.split_inclusive('\n').count(),
        lines_after,
    })
}

/// Which words of a chunk the model keeps, from each word's best token score.
fn choose(best: &[f32], settings: &Settings) -> Vec<bool> {
    match settings.target_ratio {
        None => best.iter().map(|&s| s > settings.threshold).collect(),
        Some(ratio) => {
            let n = ((best.len() as f32 * ratio.clamp(0.0, 1.0)) as usize).max(1);
            let mut order: Vec<usize> = (0..best.len()).collect();
            // Stable: among equal scores the earlier word wins.
            order.sort_by(|&a, &b| best[b].total_cmp(&best[a]));
            let mut keep = vec![false; best.len()];
            for &i in order.iter().take(n) {
                keep[i] = true;
            }
            keep
        }
    }
}

/// The kept words in their places: each line that keeps a word keeps its indentation and line
/// ending; kept neighbours keep the whitespace between them, and a dropped run between kept
/// words becomes one space. A line that keeps nothing goes, and so does a blank line that would
/// follow another blank one only because of that.
fn rebuild(text: &str, all: &[Word], keep: &[bool]) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut lines = 0;
    let mut w = 0;
    let mut offset = 0;
    let mut last_blank = true;
    let mut dropped_line = false;
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        let end = offset + line.len();
        let first = w;
        while w < all.len() && all[w].line == line_no {
            w += 1;
        }
        let on_line = first..w;
        if on_line.is_empty() {
            // A blank line: paragraph structure, unless dropping made it a repeat.
            if !(last_blank && dropped_line) {
                out.push_str(line);
                lines += 1;
            }
            last_blank = true;
            offset = end;
            continue;
        }
        let kept: Vec<usize> = on_line.clone().filter(|&i| keep[i]).collect();
        if kept.is_empty() {
            dropped_line = true;
            offset = end;
            continue;
        }
        dropped_line = false;
        last_blank = false;
        // The indentation: what precedes the line's first word, kept or not.
        out.push_str(&text[offset..all[first].start]);
        for (n, &i) in kept.iter().enumerate() {
            if n > 0 {
                let prev = kept[n - 1];
                if prev + 1 == i {
                    out.push_str(&text[all[prev].end..all[i].start]);
                } else {
                    out.push(' ');
                }
            }
            out.push_str(&text[all[i].start..all[i].end]);
        }
        let last = *kept.last().expect("a kept word");
        if last + 1 == w {
            out.push_str(&text[all[last].end..end]);
        } else {
            // Words after the last kept one were dropped: keep only the line ending.
            let tail = &text[all[w - 1].end..end];
            out.push_str(&tail[tail.trim_end_matches(['\n', '\r']).len()..]);
        }
        lines += 1;
        offset = end;
    }
    (out, lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::Encoded;
    use proptest::prelude::*;

    /// A stand-in model: every character of a word is a token, a word's tokens score by a
    /// hash of the word, and chunks hold at most `max` tokens.
    struct Chars {
        max: usize,
    }

    impl TokenScorer for Chars {
        fn encode_words(&self, words: &[&str]) -> Result<Encoded, KompressError> {
            let mut enc = Encoded {
                ids: vec![0],
                word_ids: vec![None],
            };
            for (i, w) in words.iter().enumerate() {
                for c in w.chars() {
                    enc.ids
                        .push(c as u32 % 1000 + 1 + (w.len() as u32 % 7) * 1000);
                    enc.word_ids.push(Some(i as u32));
                }
            }
            enc.ids.push(0);
            enc.word_ids.push(None);
            Ok(enc)
        }

        fn keep_scores(&self, ids: &[u32]) -> Result<Vec<f32>, KompressError> {
            assert!(
                ids.len() <= self.max,
                "a chunk over the limit reached the model"
            );
            Ok(ids.iter().map(|&id| (id % 10) as f32 / 10.0).collect())
        }

        fn max_tokens(&self) -> usize {
            self.max
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Whatever the text: the output is the input's words in order (only whole words
        /// dropped), every fact and protected word stays, and no chunk exceeds the limit.
        #[test]
        fn output_is_a_subsequence_that_keeps_every_fact(
            text in "([a-zA-Z0-9_./<>#`|-]{1,12}[ \t]{1,3}|\n|\r\n|```\n|naïve |東京 |😀 ){10,120}",
            chunk in 1usize..40,
            max in 3usize..60,
        ) {
            let settings = Settings { chunk_words: chunk, max_tokens: max, ..Settings::default() };
            let c = match compress_text(&Chars { max }, &text, &settings, None) {
                Ok(c) => c,
                Err(KompressError::TooShort(_)) => return Ok(()),
                Err(e) => panic!("{e}"),
            };
            let original: Vec<&str> = text.split_whitespace().collect();
            let kept: Vec<&str> = c.text.split_whitespace().collect();
            prop_assert_eq!(kept.len(), c.kept);
            prop_assert!(c.text.len() <= text.len());
            let mut at = 0;
            for w in &kept {
                let found = original[at..].iter().position(|o| o == w);
                prop_assert!(found.is_some(), "{:?} is not next", w);
                at += found.unwrap() + 1;
            }
            for w in words(&text) {
                let word = &text[w.start..w.end];
                if w.fact || w.protected {
                    prop_assert!(kept.contains(&word), "{:?} was dropped", word);
                }
            }
        }
    }

    fn rebuilt(text: &str, drop: &[&str]) -> String {
        let all = words(text);
        let keep: Vec<bool> = all
            .iter()
            .map(|w| !drop.contains(&&text[w.start..w.end]))
            .collect();
        rebuild(text, &all, &keep).0
    }

    #[test]
    fn layout_survives_dropping() {
        let text = "# Title\n\n  The  quick brown fox\n\tjumps over\n\nthe lazy dog.\r\n";
        assert_eq!(rebuilt(text, &[]), text);
        assert_eq!(
            rebuilt(text, &["quick", "over"]),
            "# Title\n\n  The brown fox\n\tjumps\n\nthe lazy dog.\r\n"
        );
        // A paragraph that loses every word takes its line, and no blank lines pile up.
        assert_eq!(
            rebuilt(text, &["the", "lazy", "dog."]),
            "# Title\n\n  The  quick brown fox\n\tjumps over\n\n"
        );
        assert_eq!(rebuilt("a b\n\nc d\n\ne f\n", &["c", "d"]), "a b\n\ne f\n");
    }

    #[test]
    fn the_ratio_keeps_the_best_share() {
        let s = Settings {
            target_ratio: Some(0.5),
            ..Settings::default()
        };
        assert_eq!(
            choose(&[0.1, 0.9, 0.5, 0.5], &s),
            [false, true, true, false]
        );
        assert_eq!(
            choose(&[0.1, 0.9, 0.51], &Settings::default()),
            [false, true, true]
        );
    }
}
