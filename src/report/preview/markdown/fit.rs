//! Fitting the tables of the Markdown preview into what is left of a
//! review comment: all folded into `<details>` when they fit, else the
//! preflight and the phase tables in order while they fit, the rest
//! counted. The count list has a budget of its own: past it, the phases
//! left are one line of totals. Every size is measured after masking
//! (a masked secret can be longer than its value), and room for the counts
//! of what follows is kept before a table is shown, so the result never
//! exceeds the budget it was given and no table is cut.

use crate::report::plural;
use crate::report::preview::markdown::tables::Table;

/// The most the list of counted phases takes, its totals line included.
const LIST_BUDGET: usize = 4_000;
/// Room kept in that list for its totals line (masked, at most 3 times
/// the length of the line).
const TOTALS_ROOM: usize = 400;

/// A table's three forms as they will be printed (masked), with lengths.
pub(super) struct Forms {
    pub open: String,
    folded: String,
    count: String,
    folded_len: usize,
    count_len: usize,
    items: usize,
    mutating: usize,
}

impl Forms {
    pub(super) fn of(table: &Table, mask: &impl Fn(String) -> String) -> Forms {
        let folded = mask(table.folded());
        let count = mask(table.count.clone());
        Forms {
            open: mask(table.open()),
            folded_len: chars(&folded),
            count_len: chars(&count),
            folded,
            count,
            items: table.items,
            mutating: table.mutating,
        }
    }
}

pub(super) fn chars(text: &str) -> usize {
    text.chars().count()
}

/// The preflight and the phase tables within `budget` characters: all
/// folded if they fit; else the preflight folded if it fits with the
/// counts of every phase (else its own count), then the phase tables
/// folded in order while each fits with the counts of those after it,
/// then the counts of the rest. Never longer than `budget` when `budget`
/// holds the preflight's count and the counts of every phase, which take
/// less than 6,000 characters.
pub(super) fn folded_within(
    preflight: Option<&Forms>,
    phases: &[Forms],
    budget: usize,
    mask: &impl Fn(String) -> String,
) -> String {
    let all: usize = preflight.iter().copied().chain(phases).map(|f| f.folded_len).sum();
    if all <= budget {
        return preflight
            .iter()
            .copied()
            .chain(phases)
            .map(|f| f.folded.as_str())
            .collect();
    }
    // suffix[i]: the length of the count lines of phases[i..].
    let mut suffix = vec![0; phases.len() + 1];
    for i in (0..phases.len()).rev() {
        suffix[i] = suffix[i + 1] + phases[i].count_len;
    }
    let reserve = |from: usize| match phases.len() - from {
        0 => 0,
        n => chars(&mask(heading(n))) + suffix[from].min(LIST_BUDGET),
    };
    let mut left = budget;
    let mut out = String::new();
    if let Some(preflight) = preflight {
        let (form, size) = if preflight.folded_len + reserve(0) <= left {
            (&preflight.folded, preflight.folded_len)
        } else {
            (&preflight.count, preflight.count_len)
        };
        out.push_str(form);
        left = left.saturating_sub(size);
    }
    let mut shown = 0;
    while shown < phases.len() && phases[shown].folded_len + reserve(shown + 1) <= left {
        out.push_str(&phases[shown].folded);
        left -= phases[shown].folded_len;
        shown += 1;
    }
    out.push_str(&counted(&phases[shown..], mask));
    out
}

/// The phases left out, counted: a line each while they fit in the list's
/// budget, then one line of totals for the rest.
fn counted(rest: &[Forms], mask: &impl Fn(String) -> String) -> String {
    if rest.is_empty() {
        return String::new();
    }
    let mut out = mask(heading(rest.len()));
    let all: usize = rest.iter().map(|f| f.count_len).sum();
    let room = if all <= LIST_BUDGET {
        LIST_BUDGET
    } else {
        LIST_BUDGET - TOTALS_ROOM
    };
    let mut used = 0;
    let mut listed = 0;
    while listed < rest.len() && used + rest[listed].count_len <= room {
        out.push_str(&rest[listed].count);
        used += rest[listed].count_len;
        listed += 1;
    }
    if listed < rest.len() {
        out.push_str(&mask(totals(&rest[listed..], listed > 0)));
    }
    out
}

fn heading(phases: usize) -> String {
    format!(
        "\n### Folded to fit\n\nThe tables of {} were left out to fit a review comment (GitHub allows 65,536 characters); `planrun plan PLAN` shows every step.\n\n",
        plural(phases, "phase")
    )
}

/// One line for phases too many to list: how many, their steps, and how
/// many of those change things.
fn totals(rest: &[Forms], after_others: bool) -> String {
    let steps: usize = rest.iter().map(|f| f.items).sum();
    let mutating: usize = rest.iter().map(|f| f.mutating).sum();
    let phases = plural(rest.len(), "phase");
    let phases = if after_others {
        phases.replacen(' ', " more ", 1)
    } else {
        phases
    };
    format!(
        "- {phases}, {}, {mutating} change things: folded into this line\n",
        plural(steps, "step")
    )
}

/// Room kept in a list for its last line, which says how many more.
const MORE_ROOM: usize = 300;

/// `lines` (as printed) while at most `limit` of them fit in `budget`
/// characters, then the line `more` makes of how many were left out.
pub(super) fn list_within(
    lines: impl ExactSizeIterator<Item = String>,
    limit: usize,
    budget: usize,
    more: impl Fn(usize) -> String,
) -> String {
    let total = lines.len();
    let mut out = String::new();
    let mut used = 0;
    let mut listed = 0;
    for line in lines.take(limit) {
        let size = chars(&line);
        if used + size + MORE_ROOM > budget {
            break;
        }
        out.push_str(&line);
        used += size;
        listed += 1;
    }
    if listed < total {
        out.push_str(&more(total - listed));
    }
    out
}
