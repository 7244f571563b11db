//! What line-ranking compressors share on top of [`super::fit`]: lines too long to show
//! whole are shown cut, and a fitted choice is repaired so that nothing of a protected rank is
//! left out while something of lower rank is shown.

use super::content;
use super::fit::{Fitted, Render, Unit};
use super::lines::prefix_within;
use crate::ccr::Key;
use crate::context::Context;
use crate::tokens::estimate;
use std::collections::HashMap;

/// The longest a line may be shown whole, in tokens: a quarter of the budget.
pub(crate) fn line_cap(budget: usize) -> usize {
    (budget / 4).max(16)
}

/// Lines longer than `cap` tokens, each with how many of its bytes are shown.
pub(crate) fn cut_long_lines(lines: &[&str], cap: usize, ctx: &Context) -> HashMap<usize, usize> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| estimate(l) > cap)
        .map(|(i, l)| (i, prefix_within(l, cap, ctx)))
        // The estimate may be above what the line really costs.
        .filter(|&(i, shown)| shown < content(lines[i]).len())
        .collect()
}

/// The estimated cost of showing line `i` (cut, if it is).
pub(crate) fn cost(lines: &[&str], cut: &HashMap<usize, usize>, i: usize) -> usize {
    match cut.get(&i) {
        Some(&shown) => estimate(&content(lines[i])[..shown]) + 8,
        None => estimate(lines[i]).max(1),
    }
}

/// Shows `line` whole, or its first `shown` bytes and how much was cut.
pub(crate) fn push_line(out: &mut String, line: &str, shown: Option<usize>) {
    match shown {
        Some(shown) => {
            let text = content(line);
            out.push_str(&text[..shown]);
            out.push_str(&format!(
                " …[{} more bytes of this line cut]\n",
                text.len() - shown
            ));
        }
        None => out.push_str(line),
    }
}

/// Rounds of [`repair`].
const REPAIRS: usize = 6;

/// Makes sure nothing that must be seen (a summary, a failure's name, its message) is left
/// out while something of lower rank is shown. The fitting search fills the budget as well as
/// it can and may take two cheap lines of low rank over one dear line of high rank; here the
/// first such line of high rank is put back, in place of as few lines of lower rank as it
/// takes (the longest run of them, by rank, that still fits), a few times over.
pub(crate) fn repair(
    units: &[Unit],
    fitted: Fitted,
    protect: u8,
    ctx: &Context,
    render: &mut Render,
) -> Fitted {
    // Room for the real key, as the fitting search leaves.
    let budget = ctx.budget.saturating_sub(6);
    let key = Key::of(b"cinch placeholder key for repairs");
    let mut order: Vec<&Unit> = units.iter().collect();
    order.sort_by_key(|u| (u.tier, u.order, u.start));
    let mut keep = fitted.keep;
    let mut count = |keep: &[bool]| ctx.counter.count(&render(keep, fitted.detail, &key));
    let set = |keep: &mut [bool], u: &Unit, to: bool| keep[u.start..u.end].fill(to);
    let mut from = 0;
    for _ in 0..REPAIRS {
        let Some(gap) = (from..order.len()).find(|&k| !keep[order[k].start]) else {
            break;
        };
        if order[gap].tier > protect {
            break;
        }
        from = gap + 1;
        let later: Vec<usize> = (gap + 1..order.len())
            .filter(|&k| keep[order[k].start])
            .collect();
        if later.is_empty() {
            break;
        }
        let mut base = keep.clone();
        for &k in &later {
            set(&mut base, order[k], false);
        }
        set(&mut base, order[gap], true);
        if count(&base) > budget {
            continue;
        }
        // The longest prefix of the lower-ranked units that still fits beside it.
        let with = |k: usize| {
            let mut t = base.clone();
            for &x in &later[..k] {
                set(&mut t, order[x], true);
            }
            t
        };
        let (mut lo, mut hi) = (0, later.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if count(&with(mid)) <= budget {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        keep = with(lo);
    }
    Fitted {
        keep,
        detail: fitted.detail,
    }
}
