//! "Did you mean" suggestions for misspelled names.

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), candidate))
        .filter(|(distance, candidate)| {
            let longest = name.len().max(candidate.len());
            *distance <= 3 && *distance * 3 <= longest + 1
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, candidate)| candidate)
}

/// A `help:` line: "did you mean `x`?" or the list of valid names.
pub fn help(name: &str, candidates: &[&str], what: &str) -> Option<String> {
    if let Some(best) = closest(name, candidates.iter().copied()) {
        return Some(format!("did you mean `{best}`?"));
    }
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

pub fn quote_list(items: &[&str]) -> String {
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
    fn help_lists_candidates_when_nothing_is_close() {
        assert_eq!(
            help("zzz", &["a", "bb"], "field").as_deref(),
            Some("expected one of `a`, `bb`")
        );
    }
}
