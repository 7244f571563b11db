//! Which definitions the query asks about: by name, with or without backticks.
//!
//! A query names a definition as `parse_header`, `parseHeader`, `Store::put`, `store.put`,
//! `self.run` or `ConfigLoader` (backticked or not), or as a plain word (`how does the router
//! work` names a function `router`). The last part of a qualified name is the definition's
//! name; the parts before it qualify it, so that `Store::put` asks for `put`, not for every
//! method of `Store`.

use crate::query::Query;

/// How strongly the query asks about a definition: 0 not at all, 1 a plain word equals its
/// name, 3 an identifier or an exact term names it.
pub(super) type Level = u8;

/// A plain word of the query equals the name.
pub(super) const WORD: Level = 1;
/// An identifier or exact term names it.
pub(super) const NAMED: Level = 3;

/// The names the query asks about.
#[derive(Debug, Default)]
pub(super) struct Asked {
    /// Exact terms and identifiers, each split into its parts (`store::put` → `store`, `put`).
    terms: Vec<Vec<String>>,
    /// Plain words.
    words: Vec<String>,
    /// Parts that qualify another name (`store` of `store::put`).
    qualifiers: Vec<String>,
}

impl Asked {
    pub(super) fn new(query: &Query) -> Asked {
        let mut asked = Asked {
            words: query.words.clone(),
            ..Asked::default()
        };
        for term in query.exact.iter().chain(&query.idents) {
            let parts: Vec<String> = term
                .split("::")
                .flat_map(|p| p.split(['.', '#']))
                .map(|p| p.trim_end_matches("()").trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
            if parts.is_empty() || parts.iter().any(|p| p.contains(char::is_whitespace)) {
                continue;
            }
            asked
                .qualifiers
                .extend(parts[..parts.len() - 1].iter().cloned());
            asked.terms.push(parts);
        }
        // The words of an identifier (`parse` and `header` of `parse_header`) are not plain
        // words of their own.
        let parts: Vec<String> = query
            .idents
            .iter()
            .flat_map(|i| crate::query::words(i))
            .collect();
        asked.words.retain(|w| !parts.contains(w));
        asked
    }

    /// How strongly a function or method called `name` is asked about.
    pub(super) fn function(&self, name: &str) -> Level {
        let name = bare(name);
        if name.is_empty() {
            return 0;
        }
        if self.named(&name) {
            NAMED
        } else if name.len() >= 3 && self.words.contains(&name) {
            WORD
        } else {
            0
        }
    }

    /// How strongly a type, class or module called `name` is asked about as a whole: named on
    /// its own, not as the qualifier of one of its members, and not by a plain word (a word of a
    /// file path or a sentence is too weak a reason to keep a whole type).
    pub(super) fn container(&self, name: &str) -> Level {
        let name = bare(name);
        if !name.is_empty() && self.named(&name) && !self.qualifiers.contains(&name) {
            NAMED
        } else {
            0
        }
    }

    fn named(&self, name: &str) -> bool {
        self.terms
            .iter()
            .any(|parts| parts.last().is_some_and(|last| last == name))
    }
}

/// A definition's name as queries spell it: lowercased, without generics, a receiver or a
/// sigil (`Candidate<'a>` → `candidate`, `self.run` → `run`, `#private` → `private`).
fn bare(name: &str) -> String {
    let name = name.rsplit(['.', ':']).next().unwrap_or(name);
    name.trim_start_matches(['#', '$', '@', '*', '&'])
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '?' || *c == '!')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(q: &str) -> Asked {
        Asked::new(&Query::parse(q))
    }

    #[test]
    fn names_with_or_without_backticks() {
        assert_eq!(
            asked("how does parse_header work").function("parse_header"),
            NAMED
        );
        assert_eq!(
            asked("how does `parse_header` work").function("parse_header"),
            NAMED
        );
        assert_eq!(
            asked("what does parseHeader do").function("parseHeader"),
            NAMED
        );
        assert_eq!(asked("what does Store::put do").function("put"), NAMED);
        assert_eq!(asked("what does store.put do").function("put"), NAMED);
        assert_eq!(
            asked("`self.run_helper` please").function("run_helper"),
            NAMED
        );
        assert_eq!(asked("how does the router work").function("router"), WORD);
        assert_eq!(asked("how does the router work").function("route"), 0);
        assert_eq!(asked("how does parse_header work").function("parse"), 0);
    }

    #[test]
    fn containers_only_when_named_on_their_own() {
        assert_eq!(asked("class ConfigLoader").container("ConfigLoader"), NAMED);
        assert_eq!(asked("what does Store::put do").container("Store"), 0);
        assert_eq!(asked("how does the store work").container("Store"), 0);
        assert_eq!(
            asked("impl of `Candidate`").container("Candidate<'a>"),
            NAMED
        );
    }
}
