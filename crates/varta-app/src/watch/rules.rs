//! Watchlist rules: which rules a document matches. Phrases are folded as search folds them
//! (case, `ё`, apostrophes, look-alike letters) and matched as whole words in order, so "світла"
//! does not match inside "світлана". All phrases of all rules go into one Aho-Corasick automaton:
//! a document is read once, whatever the number of rules.

use super::config::RuleConfig;
use aho_corasick::AhoCorasick;
use varta_core::Document;

/// The folded words of `text`, joined by single spaces, with a space at each end: the form both
/// phrases and documents take, so that a phrase matches only on word boundaries.
pub fn words(text: &str) -> String {
    let folded = varta_text::fold::fold(text);
    let mut out = String::with_capacity(folded.len() + 2);
    out.push(' ');
    for (_, t) in varta_text::fold::tokens(&folded) {
        out.push_str(t);
        out.push(' ');
    }
    out
}

/// Which of a rule's lists a phrase came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum List {
    Any,
    All,
    None,
}

/// The rules, compiled.
pub struct Rules {
    rules: Vec<RuleConfig>,
    automaton: Option<AhoCorasick>,
    /// For each pattern: (rule, list, index within that list).
    patterns: Vec<(usize, List, usize)>,
}

impl Rules {
    pub fn new(rules: &[RuleConfig]) -> Result<Rules, String> {
        let mut pats = Vec::new();
        let mut patterns = Vec::new();
        for (r, rule) in rules.iter().enumerate() {
            for (list, phrases) in [
                (List::Any, &rule.any),
                (List::All, &rule.all),
                (List::None, &rule.none),
            ] {
                for (i, p) in phrases.iter().enumerate() {
                    let w = words(p.trim().trim_matches('"'));
                    if w.trim().is_empty() {
                        return Err(format!(
                            "[[rule]] {:?}: the phrase {p:?} has no words",
                            rule.name
                        ));
                    }
                    pats.push(w);
                    patterns.push((r, list, i));
                }
            }
        }
        let automaton = if pats.is_empty() {
            None
        } else {
            Some(AhoCorasick::new(&pats).map_err(|e| format!("compiling the rules: {e}"))?)
        };
        Ok(Rules {
            rules: rules.to_vec(),
            automaton,
            patterns,
        })
    }

    pub fn rules(&self) -> &[RuleConfig] {
        &self.rules
    }

    /// The rules `doc` matches (indexes), given the claims it matched. Each match lists the
    /// phrases found. Rules with a `narrative` filter never match here (see
    /// [`Rules::matches_in_narrative`]).
    pub fn matches(&self, doc: &Document, claims: &[String]) -> Vec<(usize, Vec<String>)> {
        self.matches_with(doc, claims, None)
    }

    /// The rules with a `narrative` filter that `doc`, a member of the narrative `id` labelled
    /// `label`, matches.
    pub fn matches_in_narrative(
        &self,
        doc: &Document,
        id: &str,
        label: &str,
    ) -> Vec<(usize, Vec<String>)> {
        self.matches_with(doc, &[], Some((id, label)))
            .into_iter()
            .filter(|(r, _)| !self.rules[*r].narrative.is_empty())
            .collect()
    }

    fn matches_with(
        &self,
        doc: &Document,
        claims: &[String],
        narrative: Option<(&str, &str)>,
    ) -> Vec<(usize, Vec<String>)> {
        if self.rules.is_empty() {
            return Vec::new();
        }
        let mut text = String::new();
        if let Some(t) = &doc.title {
            text.push_str(t);
            text.push('\n');
        }
        text.push_str(&doc.text);
        let w = words(&text);
        // found[rule] = (any found, all found as bitset by index, none found, phrases)
        let n = self.rules.len();
        let mut any_hit = vec![false; n];
        let mut none_hit = vec![false; n];
        let mut all_hit: Vec<Vec<bool>> = self
            .rules
            .iter()
            .map(|r| vec![false; r.all.len()])
            .collect();
        let mut phrases: Vec<Vec<String>> = vec![Vec::new(); n];
        if let Some(ac) = &self.automaton {
            // Overlapping: a phrase inside a longer one of another rule must still count.
            for m in ac.find_overlapping_iter(&w) {
                let (r, list, i) = self.patterns[m.pattern().as_usize()];
                match list {
                    List::Any => {
                        any_hit[r] = true;
                        let p = &self.rules[r].any[i];
                        if !phrases[r].contains(p) {
                            phrases[r].push(p.clone());
                        }
                    }
                    List::All => all_hit[r][i] = true,
                    List::None => none_hit[r] = true,
                }
            }
        }
        let mut out = Vec::new();
        for (r, rule) in self.rules.iter().enumerate() {
            let words_ok = (rule.any.is_empty() || any_hit[r])
                && all_hit[r].iter().all(|&b| b)
                && !none_hit[r];
            if !words_ok || !self.filters(rule, doc, claims) {
                continue;
            }
            if !rule.narrative.is_empty() {
                let Some((id, label)) = narrative else {
                    continue;
                };
                let label = words(label);
                let hit = rule
                    .narrative
                    .iter()
                    .any(|n| n == id || label.contains(&words(n)));
                if !hit {
                    continue;
                }
            }
            let mut p = std::mem::take(&mut phrases[r]);
            p.extend(rule.all.iter().cloned());
            out.push((r, p));
        }
        out
    }

    fn filters(&self, rule: &RuleConfig, doc: &Document, claims: &[String]) -> bool {
        if !rule.lang.is_empty() && !rule.lang.contains(&doc.language) {
            return false;
        }
        if !rule.sources.is_empty() && !rule.sources.contains(&doc.source) {
            return false;
        }
        if !rule.actors.is_empty() {
            let actor = doc.actor_id.as_deref().unwrap_or("");
            let handle = actor.split_once(':').map_or(actor, |(_, h)| h);
            if !rule
                .actors
                .iter()
                .any(|a| a == actor || a.trim_start_matches('@') == handle)
            {
                return false;
            }
        }
        if !rule.claim.is_empty() && !claims.iter().any(|c| rule.claim.contains(c)) {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::config::RuleConfig;

    fn rule(name: &str, any: &[&str]) -> RuleConfig {
        RuleConfig {
            name: name.into(),
            any: any.iter().map(|s| s.to_string()).collect(),
            all: vec![],
            none: vec![],
            lang: vec![],
            actors: vec![],
            sources: vec![],
            claim: vec![],
            narrative: vec![],
            min_docs: 1,
            burst: false,
            rate_limit: "20/1h".parse().unwrap(),
        }
    }

    fn doc(text: &str, lang: &str) -> Document {
        let mut d: Document = serde_json::from_value(serde_json::json!({
            "id": "d", "source": "s", "format": "text", "actor_id": "telegram:chan",
            "native_id": null, "url": null, "canonical_url": null, "title": null, "author": null,
            "text": text, "raw": null, "language": lang, "language_confidence": 1.0,
            "published_at": null, "collected_at": "2026-12-07T00:00:00Z", "links": [],
            "hashtags": [], "mentions": [], "repost_of": null, "forwarded_from": null,
            "reply_to": null, "content_hash": "h"
        }))
        .unwrap();
        d.text = text.into();
        d
    }

    #[test]
    fn phrases_fold_and_match_whole_words_only() {
        let mut r = rule(
            "blackout",
            &["відключення світла", "\"blackout\"", "отключения света"],
        );
        r.lang = vec!["uk".into(), "en".into()];
        let rules = Rules::new(&[r, rule("names", &["світлана"])]).unwrap();
        let hit = rules.matches(
            &doc("Завтра ВІДКЛЮЧЕННЯ   Світла по всьому Києву", "uk"),
            &[],
        );
        assert_eq!(hit.len(), 1);
        assert_eq!(hit[0].1, ["відключення світла"]);
        // Words in order and next to each other; not inside another word.
        assert!(
            rules
                .matches(&doc("світла відключення", "uk"), &[])
                .is_empty()
        );
        assert!(
            rules
                .matches(&doc("blackouts everywhere", "en"), &[])
                .is_empty()
        );
        assert_eq!(rules.matches(&doc("A Blackout!", "en"), &[]).len(), 1);
        // The language filter.
        assert!(
            rules
                .matches(&doc("отключения света", "ru"), &[])
                .is_empty()
        );
        // Look-alike Latin letters inside a Cyrillic word fold away.
        assert_eq!(rules.matches(&doc("cвітлана", "uk"), &[])[0].0, 1);
    }

    #[test]
    fn all_none_actors_and_claims() {
        let mut r = rule("r", &["газ"]);
        r.all = vec!["ціни".into()];
        r.none = vec!["сатира".into()];
        r.actors = vec!["@chan".into()];
        let rules = Rules::new(&[r]).unwrap();
        assert_eq!(rules.matches(&doc("газ і ціни", "uk"), &[]).len(), 1);
        assert!(rules.matches(&doc("газ", "uk"), &[]).is_empty());
        assert!(
            rules
                .matches(&doc("газ і ціни, сатира", "uk"), &[])
                .is_empty()
        );
        let mut c = rule("c", &[]);
        c.claim = vec!["claim-1".into()];
        let rules = Rules::new(&[c]).unwrap();
        assert!(rules.matches(&doc("x", "uk"), &[]).is_empty());
        assert_eq!(rules.matches(&doc("x", "uk"), &["claim-1".into()]).len(), 1);
        assert!(Rules::new(&[rule("empty", &["  ,, "])]).is_err());
        let mut n = rule("n", &[]);
        n.narrative = vec!["метро".into()];
        let rules = Rules::new(&[n]).unwrap();
        let d = doc("Метро закриють", "uk");
        assert!(
            rules.matches(&d, &[]).is_empty(),
            "not before narratives are known"
        );
        assert_eq!(
            rules
                .matches_in_narrative(&d, "narrative:1", "uk: метро київ")
                .len(),
            1
        );
        assert!(
            rules
                .matches_in_narrative(&d, "narrative:2", "uk: ціни газ")
                .is_empty()
        );
    }
}
