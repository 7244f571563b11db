//! Showing as much as fits: the lines a text compressor keeps, chosen by rank until the
//! output is as close to the budget as it gets without going over.
//!
//! A compressor cuts its input into [`Unit`]s (a line, or lines that belong together: an error
//! and its stack trace, a table's header) and ranks them: a lower tier goes first, and within a
//! tier a lower `order`. [`fit`] takes units in that order while their estimated cost fits a
//! target, renders the output (the compressor's own layout: kept lines, notes about what was
//! left out, the marker) and counts it exactly, then moves the target up or down until the
//! output holds as much as it can under the budget. The budget is a cap: the output it returns
//! is never over it unless the compressor's output with nothing kept already is (a marker larger
//! than the budget), which it reports.
//!
//! [`store_and_render`] then stores the whole original with the lines that stayed visible
//! (see [`crate::ccr::entry`]) and renders the final output with the real key.

use super::TextError;
use crate::ccr::entry::{self, Header};
use crate::ccr::Key;
use crate::context::Context;
use crate::tokens::estimate;

/// Lines kept or dropped together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unit {
    /// First line.
    pub start: usize,
    /// One past the last line.
    pub end: usize,
    /// Lower tiers are kept first.
    pub tier: u8,
    /// Within a tier, lower first.
    pub order: u64,
}

impl Unit {
    /// One line.
    pub fn line(i: usize, tier: u8, order: u64) -> Unit {
        Unit {
            start: i,
            end: i + 1,
            tier,
            order,
        }
    }
}

/// How much an output says beyond its kept lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    /// Notes about what was left out where (groups, gaps).
    Full,
    /// Only the kept lines and the marker: when the notes alone would crowd out the lines.
    Terse,
}

/// Renders an output: the lines `keep` marks shown, with `detail`, naming `key` in its marker.
pub(crate) type Render<'r> = dyn FnMut(&[bool], Detail, &Key) -> String + 'r;

/// What [`fit`] chose.
#[derive(Debug)]
pub(crate) struct Fitted {
    /// Which lines are shown.
    pub keep: Vec<bool>,
    /// The level of detail that fitted.
    pub detail: Detail,
}

/// Orders `0..n` so that every prefix of the order is spread evenly over `0..n`: the first
/// element, then the middle, then the quarters, and so on (van der Corput order). For the
/// units that only fill the budget, so that whatever number of them fits is a fair sample.
pub(crate) fn spread(i: usize, n: usize) -> u64 {
    if n <= 1 {
        return 0;
    }
    let bits = usize::BITS - (n - 1).leading_zeros();
    // The bit-reversed index orders positions coarse to fine.
    (i.reverse_bits() >> (usize::BITS - bits)) as u64
}

/// A key with as many hex digits as a real one, for measuring outputs before the real key is
/// known; real keys may take a few more tokens, which [`KEY_SLACK`] leaves room for.
fn placeholder_key() -> Key {
    Key::of(b"cinch placeholder key")
}

/// Tokens kept free while searching, for the real key.
const KEY_SLACK: usize = 6;
/// Rounds of the search for the target.
const ROUNDS: usize = 10;
/// An output within this share of the budget is close enough.
const CLOSE_ENOUGH: f64 = 0.93;

/// A text cut into ranked units, to be fitted into the budget and stored.
pub(crate) struct Plan<'a> {
    /// The kind recorded in the stored entry.
    pub kind: &'a str,
    /// The whole text, stored as it is.
    pub original: &'a str,
    /// Its lines, each with its line ending.
    pub lines: &'a [&'a str],
    /// The units, in any order.
    pub units: Vec<Unit>,
}

impl Plan<'_> {
    /// See [`fit`].
    pub fn fit(&self, cost: &dyn Fn(usize) -> usize, ctx: &Context, render: &mut Render) -> Fitted {
        fit(self.lines.len(), &self.units, cost, ctx, render)
    }

    /// See [`store_and_render`].
    pub fn store_and_render(
        &self,
        fitted: Fitted,
        whole: &dyn Fn(usize) -> bool,
        ctx: &Context,
        render: &mut Render,
    ) -> Result<Stored, TextError> {
        store_and_render(self, fitted, whole, ctx, render)
    }
}

/// Chooses which lines to show: units by rank while the output fits the budget (see the
/// module docs). `cost(i)` is the estimated cost of showing line `i` (its own estimate, unless
/// the compressor shows it shortened).
pub(crate) fn fit(
    n: usize,
    units: &[Unit],
    cost: &dyn Fn(usize) -> usize,
    ctx: &Context,
    render: &mut Render,
) -> Fitted {
    let budget = ctx.budget.saturating_sub(KEY_SLACK);
    let key = placeholder_key();
    let mut order: Vec<&Unit> = units.iter().collect();
    order.sort_by_key(|u| (u.tier, u.order, u.start));
    let none = vec![false; n];
    let count = |keep: &[bool], detail: Detail, render: &mut Render| {
        ctx.counter.count(&render(keep, detail, &key))
    };
    // Notes about everything left out may be too many to leave room for lines.
    let mut detail = Detail::Full;
    let mut base = count(&none, detail, render);
    if base > budget / 2 {
        let terse = count(&none, Detail::Terse, render);
        if terse < base {
            detail = Detail::Terse;
            base = terse;
        }
    }
    if base >= budget {
        return Fitted { keep: none, detail };
    }

    let greedy = |target: usize| -> (Vec<bool>, bool) {
        let mut keep = vec![false; n];
        let mut spent = 0usize;
        let mut all = true;
        for u in &order {
            let c: usize = (u.start..u.end.min(n))
                .filter(|&i| !keep[i])
                .map(cost)
                .sum();
            if spent + c <= target {
                spent += c;
                keep[u.start..u.end.min(n)].fill(true);
            } else {
                all = false;
            }
        }
        (keep, all)
    };

    // The target moves by the ratio of budget to tokens until it is bracketed, then by
    // bisection between the largest that fitted and the smallest that did not.
    let (mut lo, mut hi): (Option<usize>, Option<usize>) = (None, None);
    let mut target = budget - base;
    let mut best: Option<(Vec<bool>, usize)> = None;
    for _ in 0..ROUNDS {
        let (keep, all) = greedy(target);
        let tokens = count(&keep, detail, render);
        let ratio = budget as f64 / tokens.max(1) as f64;
        let next = if tokens <= budget {
            let done = all || tokens as f64 >= CLOSE_ENOUGH * budget as f64;
            if best.as_ref().is_none_or(|b| tokens >= b.1) {
                best = Some((keep, tokens));
            }
            if done {
                break;
            }
            lo = Some(target);
            match hi {
                Some(h) => (target + h) / 2,
                None => ((target as f64 * ratio) as usize).max(target + 1),
            }
        } else {
            hi = Some(target);
            match lo {
                Some(l) => (l + target) / 2,
                None => ((target as f64 * ratio * 0.97) as usize).min(target.saturating_sub(1)),
            }
        };
        if next == target || lo.is_some_and(|l| next <= l) && hi.is_some() {
            break;
        }
        target = next;
    }
    let keep = best.map_or(none, |b| b.0);
    Fitted { keep, detail }
}

/// What [`store_and_render`] made.
#[derive(Debug)]
pub(crate) struct Stored {
    /// The output.
    pub output: String,
    /// The key of the stored original.
    pub key: Key,
    /// Lines shown whole.
    pub kept: usize,
}

/// Stores the plan's original as an entry of its kind recording which lines are shown whole
/// (`fitted.keep`, less those `whole` says are shown shortened), and renders the output with
/// the entry's key. If the real key makes the output overrun the budget (it can take a few
/// more tokens than the one measured with), the last units by rank are let go. A store that
/// keeps the content in another form (mixed content's, which puts blocks back) names it by
/// another key, and the marker names that one.
pub(crate) fn store_and_render(
    plan: &Plan,
    mut fitted: Fitted,
    whole: &dyn Fn(usize) -> bool,
    ctx: &Context,
    render: &mut Render,
) -> Result<Stored, TextError> {
    let (kind, original, lines) = (plan.kind, plan.original, plan.lines);
    let mut order: Vec<&Unit> = plan.units.iter().collect();
    order.sort_by_key(|u| (u.tier, u.order, u.start));
    loop {
        let shown_whole: Vec<bool> = (0..lines.len())
            .map(|i| fitted.keep[i] && whole(i))
            .collect();
        let header = Header {
            kind: kind.to_string(),
            kept: entry::ranges(&shown_whole),
            path: None,
        };
        let bytes = entry::stored(&header, original.as_bytes());
        let key = Key::of(&bytes);
        let output = render(&fitted.keep, fitted.detail, &key);
        let fits = |output: &str| ctx.counter.count(output) <= ctx.budget;
        let last = order
            .iter()
            .rev()
            .find(|u| (u.start..u.end).any(|i| fitted.keep.get(i) == Some(&true)));
        let drop_last = |fitted: &mut Fitted| match last {
            Some(u) => {
                fitted.keep[u.start..u.end.min(lines.len())].fill(false);
                true
            }
            None => false,
        };
        if !fits(&output) && drop_last(&mut fitted) {
            continue;
        }
        let stored = ctx.store.put(ctx.namespace, &bytes)?;
        let kept = shown_whole.iter().filter(|&&k| k).count();
        if stored == key {
            return Ok(Stored { output, key, kept });
        }
        // A store that keeps the content in another form (mixed content puts its blocks
        // back) names it by another key: the marker names what the store kept.
        let output = render(&fitted.keep, fitted.detail, &stored);
        if fits(&output) || !drop_last(&mut fitted) {
            return Ok(Stored {
                output,
                key: stored,
                kept,
            });
        }
    }
}

/// Cost of a line: its token estimate.
pub(crate) fn line_cost<'a>(lines: &'a [&'a str]) -> impl Fn(usize) -> usize + 'a {
    move |i| estimate(lines[i]).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::with_context;

    #[test]
    fn spread_orders_coarse_to_fine() {
        let mut by: Vec<usize> = (0..8).collect();
        by.sort_by_key(|&i| spread(i, 8));
        assert_eq!(by, vec![0, 4, 2, 6, 1, 5, 3, 7]);
        // Every index gets a distinct rank, also for sizes that are not powers of two.
        let mut ranks: Vec<u64> = (0..13).map(|i| spread(i, 13)).collect();
        ranks.sort();
        ranks.dedup();
        assert_eq!(ranks.len(), 13);
    }

    fn numbered(n: usize) -> String {
        (0..n)
            .map(|i| format!("line {i} with a few words of text in it\n"))
            .collect()
    }

    fn plain_render<'a>(lines: &'a [&'a str]) -> impl FnMut(&[bool], Detail, &Key) -> String + 'a {
        move |keep: &[bool], _detail: Detail, key: &Key| {
            let mut out: String = (0..lines.len())
                .filter(|&i| keep[i])
                .map(|i| lines[i])
                .collect();
            out.push_str(&crate::ccr::marker(key, "the rest"));
            out
        }
    }

    #[test]
    fn fills_close_to_the_budget_and_never_over() {
        let text = numbered(2000);
        let lines = super::super::lines_of(&text);
        for budget in [60, 200, 777, 2000] {
            let ((), _) = with_context(&text, "", budget, |ctx| {
                let plan = Plan {
                    kind: "lines",
                    original: &text,
                    lines: &lines,
                    units: (0..lines.len())
                        .map(|i| Unit::line(i, 0, spread(i, lines.len())))
                        .collect(),
                };
                let mut render = plain_render(&lines);
                let fitted = plan.fit(&line_cost(&lines), ctx, &mut render);
                let stored = plan
                    .store_and_render(fitted, &|_| true, ctx, &mut render)
                    .unwrap();
                let tokens = ctx.counter.count(&stored.output);
                assert!(tokens <= budget, "{tokens} > {budget}");
                // One more line (12 or 13 tokens) would not have fitted.
                assert!(
                    tokens + 13 + KEY_SLACK > budget || tokens as f64 >= 0.85 * budget as f64,
                    "{tokens} of {budget}: the budget is used"
                );
            });
        }
    }

    #[test]
    fn higher_tiers_go_first() {
        let text = numbered(500);
        let lines = super::super::lines_of(&text);
        let ((), _) = with_context(&text, "", 100, |ctx| {
            let mut units: Vec<Unit> = (0..lines.len())
                .map(|i| Unit::line(i, 2, i as u64))
                .collect();
            units[400].tier = 0;
            units[250].tier = 1;
            let mut render = plain_render(&lines);
            let fitted = fit(lines.len(), &units, &line_cost(&lines), ctx, &mut render);
            assert!(fitted.keep[400] && fitted.keep[250]);
            assert!(fitted.keep[0], "then the rest in order");
            assert!(!fitted.keep[499]);
        });
    }
}
