//! "Did you mean" suggestions for misspelled names.

/// Typos are at most this many edits away.
const MAX_DISTANCE: usize = 3;

/// Whether `candidate` is close enough to `name` to be its likely typo, and
/// how close. The length difference is a lower bound on the distance, so
/// most candidates are ruled out without computing it.
fn distance(name: &str, name_len: usize, candidate: &str) -> Option<usize> {
    let candidate_len = candidate.chars().count();
    let longest = name_len.max(candidate_len);
    let allowed = MAX_DISTANCE.min((longest + 1) / 3);
    if name_len.abs_diff(candidate_len) > allowed {
        return None;
    }
    let distance = strsim::osa_distance(name, candidate);
    (distance <= allowed).then_some(distance)
}

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub(crate) fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name_len = name.chars().count();
    candidates
        .into_iter()
        .filter_map(|candidate| Some((distance(name, name_len, candidate)?, candidate)))
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, candidate)| candidate)
}

/// A `help:` line: "did you mean `x`?" or the list of valid names.
pub(crate) fn help(name: &str, candidates: &[&str], what: &str) -> Option<String> {
    if let Some(best) = closest(name, candidates.iter().copied()) {
        return Some(format!("did you mean `{best}`?"));
    }
    list(candidates, what)
}

fn list(candidates: &[&str], what: &str) -> Option<String> {
    match candidates {
        [] => None,
        [one] => Some(format!("the only {what} here is `{one}`")),
        _ if candidates.len() > 12 => Some(format!(
            "{what}s include {} (and {} more)",
            quote_list(&candidates[..12]),
            candidates.len() - 12
        )),
        _ => Some(format!("expected one of {}", quote_list(candidates))),
    }
}

/// Suggestions among many candidates (the steps of a large plan) for many
/// names, with bounded work: candidates are grouped by length, and once
/// [`Suggester::BUDGET`] distances have been computed, names only get the
/// list of candidates. A plan with thousands of misspelled ids gets "did
/// you mean" on the first ones, in time linear in its size.
pub(crate) struct Suggester<'a> {
    /// In the order given, for the list.
    candidates: Vec<&'a str>,
    /// `(length in chars, candidate)`, sorted.
    by_length: Vec<(usize, &'a str)>,
    budget: usize,
}

impl<'a> Suggester<'a> {
    pub(crate) const BUDGET: usize = 200_000;

    pub(crate) fn new(candidates: Vec<&'a str>) -> Suggester<'a> {
        let mut by_length: Vec<(usize, &str)> = candidates.iter().map(|c| (c.chars().count(), *c)).collect();
        by_length.sort_unstable();
        Suggester {
            candidates,
            by_length,
            budget: Suggester::BUDGET,
        }
    }

    /// Like [`help`], never suggesting `exclude` (the name's own owner).
    pub(crate) fn help(&mut self, name: &str, exclude: &str, what: &str) -> Option<String> {
        if let Some(best) = self.closest(name, exclude) {
            return Some(format!("did you mean `{best}`?"));
        }
        let others: Vec<&str> = self
            .candidates
            .iter()
            .filter(|c| **c != exclude)
            .take(13)
            .copied()
            .collect();
        match others.len() {
            13 => Some(format!(
                "{what}s include {} (and {} more)",
                quote_list(&others[..12]),
                self.candidates.len() - 12 - usize::from(self.is_candidate(exclude))
            )),
            _ => list(&others, what),
        }
    }

    fn is_candidate(&self, name: &str) -> bool {
        self.by_length
            .binary_search_by(|(len, candidate)| (*len, *candidate).cmp(&(name.chars().count(), name)))
            .is_ok()
    }

    fn closest(&mut self, name: &str, exclude: &str) -> Option<&'a str> {
        let name_len = name.chars().count();
        let low = self
            .by_length
            .partition_point(|(len, _)| *len < name_len.saturating_sub(MAX_DISTANCE));
        let mut best: Option<(usize, &str)> = None;
        for &(len, candidate) in &self.by_length[low..] {
            if len > name_len + MAX_DISTANCE || self.budget == 0 {
                break;
            }
            if candidate == exclude {
                continue;
            }
            self.budget -= 1;
            if let Some(distance) = distance(name, name_len, candidate)
                && best.is_none_or(|(d, c)| (distance, candidate) < (d, c))
            {
                best = Some((distance, candidate));
            }
        }
        best.map(|(_, candidate)| candidate)
    }
}

pub(crate) fn quote_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_but_not_unrelated_names() {
        assert_eq!(closest("depnds_on", ["depends_on", "description"]), Some("depends_on"));
        assert_eq!(closest("chek", ["check", "help"]), Some("check"));
        assert_eq!(closest("xyz", ["check", "help"]), None);
    }

    #[test]
    fn the_suggester_excludes_the_owner_and_stops_at_its_budget() {
        let ids = ["backup", "restore", "bakcup-old"];
        let mut suggester = Suggester::new(ids.to_vec());
        assert_eq!(
            suggester.help("bakup", "restore", "step").as_deref(),
            Some("did you mean `backup`?")
        );
        assert_eq!(
            suggester.help("backup", "backup", "step").as_deref(),
            Some("expected one of `restore`, `bakcup-old`")
        );
        let many: Vec<String> = (0..100_000).map(|i| format!("s{i:05}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let mut suggester = Suggester::new(many);
        assert_eq!(
            suggester.help("s0000x", "", "step").as_deref(),
            Some("did you mean `s00000`?")
        );
        for _ in 0..10 {
            suggester.help("zzzzzz", "", "step");
        }
        let help = suggester.help("s0000x", "", "step").unwrap_or_default();
        assert!(help.starts_with("steps include `s00000`"), "{help}");
    }

    #[test]
    fn help_lists_candidates_when_nothing_is_close() {
        assert_eq!(
            help("zzz", &["a", "bb"], "field").as_deref(),
            Some("expected one of `a`, `bb`")
        );
    }
}
