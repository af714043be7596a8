//! A document that repeats a reviewed claim, as a stored finding: the document (its text cut
//! short), the claim with its review, the scores and the verdict they give.
//!
//! The body is the record as a `serde_json::Value` ([`ClaimMatchFinding::finding`]), whose keys
//! are sorted and whose `f32` scores are written as the `f64` they widen to (0.93 as
//! 0.9300000190734863). Serializing the struct directly gives the same values, with keys in
//! declaration order and the scores in their shortest `f32` form: print the `Value` to keep
//! output as it was.

use super::matcher::{ClaimMatch, Params};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use varta_core::{Claim, Document};

/// Detector name and version recorded with every finding.
pub const DETECTOR: &str = "varta-detect/claims 1";
/// The finding kind.
pub const KIND: &str = "claim-match";
/// Characters of the document's text kept in the body: enough to read the repeat, not the post.
pub const TEXT_CHARS: usize = 300;

/// The first `n` characters of `s`, with `…` when it was longer.
pub fn short(s: &str, n: usize) -> String {
    let mut t: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        t.push('…');
    }
    t
}

/// What a score means to the analyst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// At or above `Params::matched`: the text repeats the claim.
    Match,
    /// At or above `Params::suggest`: worth an analyst's look.
    Suggest,
    /// Below both.
    None,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Suggest => "suggest",
            Verdict::None => "none",
        }
    }
}

impl std::fmt::Display for Verdict {
    /// Pads like a `str`, so that `{:<7}` lines verdicts up.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The verdict for a fused score.
pub fn verdict(score: f32, params: &Params) -> Verdict {
    if score >= params.matched {
        Verdict::Match
    } else if score >= params.suggest {
        Verdict::Suggest
    } else {
        Verdict::None
    }
}

/// A finding's id: `claim-match:` and 16 hex digits of the hash of the document and claim ids, so
/// that a rerun replaces the finding whatever the scores.
pub fn finding_id(document_id: &str, claim_id: &str) -> String {
    format!(
        "claim-match:{}",
        &varta_core::stable_hash(&["claim-match", document_id, claim_id])[..16]
    )
}

/// Which signal found the claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signal {
    /// The text shares some of the claim's words.
    Lexical,
    /// The text's embedding was compared with the claim's.
    Semantic,
}

/// A claim a text may repeat, with its review and the scores: `varta claims match --json` prints
/// these, and a finding's body holds one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedClaim {
    /// The claim's id.
    pub claim: String,
    /// The claim as reviewed.
    pub text: String,
    pub rating: Option<String>,
    pub review_url: Option<String>,
    pub reviewer: Option<String>,
    pub review_date: Option<DateTime<Utc>>,
    pub score: f32,
    pub verdict: Verdict,
    pub lexical: f32,
    pub semantic: Option<f32>,
    /// The claim's stems found in the text, rarest first.
    pub shared: Vec<String>,
    /// Refutation markers in the text.
    pub refutes: Vec<String>,
}

impl MatchedClaim {
    /// `claim` is the one `m` names (`matcher.claims()[m.claim]`).
    pub fn new(claim: &Claim, m: &ClaimMatch, params: &Params) -> MatchedClaim {
        MatchedClaim {
            claim: claim.id.clone(),
            text: claim.text.clone(),
            rating: claim.rating.clone(),
            review_url: claim.review_url.clone(),
            reviewer: claim.reviewer.clone(),
            review_date: claim.review_date,
            score: m.score,
            verdict: verdict(m.score, params),
            lexical: m.lexical,
            semantic: m.semantic,
            shared: m.shared.clone(),
            refutes: m.refutes.clone(),
        }
    }
}

/// A stored document's best claim, as a finding's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimMatchFinding {
    /// The document's id.
    pub document: String,
    pub actor: Option<String>,
    pub url: Option<String>,
    pub language: String,
    pub published_at: Option<DateTime<Utc>>,
    /// The document's text, cut to [`TEXT_CHARS`] characters (see [`short`]).
    pub text: String,
    #[serde(rename = "match")]
    pub matched: MatchedClaim,
    /// What found it: `lexical` when the lexical score is above zero, `semantic` when the text
    /// was embedded.
    pub signals: Vec<Signal>,
}

impl ClaimMatchFinding {
    /// `claim` is the one `m` names (`matcher.claims()[m.claim]`).
    pub fn new(doc: &Document, claim: &Claim, m: &ClaimMatch, params: &Params) -> Self {
        let mut signals = Vec::new();
        if m.lexical > 0.0 {
            signals.push(Signal::Lexical);
        }
        if m.semantic.is_some() {
            signals.push(Signal::Semantic);
        }
        ClaimMatchFinding {
            document: doc.id.clone(),
            actor: doc.actor_id.clone(),
            url: doc.url.clone(),
            language: doc.language.clone(),
            published_at: doc.published_at,
            text: short(&doc.text, TEXT_CHARS),
            matched: MatchedClaim::new(claim, m, params),
            signals,
        }
    }

    /// See [`finding_id`].
    pub fn id(&self) -> String {
        finding_id(&self.document, &self.matched.claim)
    }

    /// The stored finding: scored by the match, first seen when the document was published, the
    /// document cited, this record as the body.
    pub fn finding(&self, params: &Params, created_at: DateTime<Utc>) -> varta_core::Finding {
        varta_core::Finding {
            id: self.id(),
            kind: KIND.to_string(),
            detector: DETECTOR.to_string(),
            parameters: crate::json_value(params),
            score: f64::from(self.matched.score),
            first_seen: self.published_at,
            created_at,
            documents: vec![self.document.clone()],
            body: crate::json_value(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::matcher::ClaimMatcher;
    use chrono::TimeZone;
    use varta_core::Format;

    fn claim(text: &str, reviewed: bool) -> Claim {
        let url = reviewed.then(|| format!("https://factcheck.example/{}", text.len()));
        Claim {
            id: Claim::derive_id(url.as_deref(), text, None),
            text: text.into(),
            rating: reviewed.then(|| "False".into()),
            review_url: url,
            reviewer: reviewed.then(|| "StopFake".into()),
            review_date: reviewed.then(|| Utc.with_ymd_and_hms(2022, 3, 10, 12, 30, 5).unwrap()),
            claimant: None,
            claim_date: None,
            appearances: vec![],
            languages: vec!["uk".into()],
            keywords: vec![],
            disproof: None,
            origin: "manual".into(),
        }
    }

    fn document(id: &str, text: &str, dated: bool) -> Document {
        let at = Utc.with_ymd_and_hms(2024, 3, 2, 8, 5, 0).unwrap();
        Document {
            id: id.into(),
            source: "telegram:1001".into(),
            format: Format::Telegram,
            actor_id: dated.then(|| "telegram:channel1001".into()),
            native_id: Some("77".into()),
            url: dated.then(|| "https://t.me/channel/77".into()),
            canonical_url: None,
            title: None,
            author: None,
            text: text.into(),
            raw: None,
            language: "ru".into(),
            language_confidence: 0.98,
            published_at: dated.then_some(at + chrono::TimeDelta::milliseconds(125)),
            collected_at: at,
            links: vec![],
            hashtags: vec![],
            mentions: vec![],
            repost_of: None,
            forwarded_from: None,
            reply_to: None,
            content_hash: varta_core::content_hash(text),
        }
    }

    fn claims() -> Vec<Claim> {
        vec![
            claim(
                "Біолабораторії США в Україні створюють біологічну зброю",
                true,
            ),
            claim("Зеленський купив віллу в Єгипті за гроші допомоги", false),
            claim("Вакцини Pfizer змінюють ДНК людини", true),
        ]
    }

    /// A long repeat (its text is cut), a refuting one, and one of an unreviewed claim without
    /// actor, url or date.
    fn documents() -> Vec<Document> {
        vec![
            document(
                "doc-long",
                &format!(
                    "Американские биолаборатории в Украине создают биологическое оружие! {}",
                    "Подробности в нашем канале. ".repeat(20)
                ),
                true,
            ),
            document(
                "doc-refutes",
                "В «Укренерго» спростували: біолабораторії США в Україні не створюють біологічну \
                 зброю",
                true,
            ),
            document(
                "doc-villa",
                "Зеленский купил виллу в Египте за деньги помощи",
                false,
            ),
        ]
    }

    /// What `varta detect claims` stored before the body had a type (its `match_json`,
    /// `verdict`, `short` and the body's `json!`).
    fn body_as_the_cli_built_it(
        d: &Document,
        m: &ClaimMatcher,
        best: &ClaimMatch,
        params: &Params,
    ) -> serde_json::Value {
        fn short(s: &str, n: usize) -> String {
            let mut t: String = s.chars().take(n).collect();
            if s.chars().count() > n {
                t.push('…');
            }
            t
        }
        fn verdict(score: f32, params: &Params) -> &'static str {
            if score >= params.matched {
                "match"
            } else if score >= params.suggest {
                "suggest"
            } else {
                "none"
            }
        }
        fn match_json(m: &ClaimMatcher, x: &ClaimMatch, params: &Params) -> serde_json::Value {
            let c = &m.claims()[x.claim];
            serde_json::json!({
                "claim": c.id,
                "text": c.text,
                "rating": c.rating,
                "review_url": c.review_url,
                "reviewer": c.reviewer,
                "review_date": c.review_date,
                "score": x.score,
                "verdict": verdict(x.score, params),
                "lexical": x.lexical,
                "semantic": x.semantic,
                "shared": x.shared,
                "refutes": x.refutes,
            })
        }
        let mut signals = Vec::new();
        if best.lexical > 0.0 {
            signals.push("lexical");
        }
        if best.semantic.is_some() {
            signals.push("semantic");
        }
        serde_json::json!({
            "document": d.id,
            "actor": d.actor_id,
            "url": d.url,
            "language": d.language,
            "published_at": d.published_at,
            "text": short(&d.text, 300),
            "match": match_json(m, best, params),
            "signals": signals,
        })
    }

    /// Unit vectors for the three claims, and near ones for the documents, so that the semantic
    /// signal is present too.
    fn vectors() -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let unit = |v: [f32; 4]| {
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / n).collect::<Vec<f32>>()
        };
        (
            vec![
                unit([1.0, 0.1, 0.0, 0.0]),
                unit([0.0, 1.0, 0.1, 0.0]),
                unit([0.0, 0.0, 1.0, 0.1]),
            ],
            vec![
                unit([0.97, 0.13, 0.02, 0.01]),
                unit([0.9, 0.3, 0.1, 0.05]),
                unit([0.05, 0.98, 0.11, 0.0]),
            ],
        )
    }

    /// Each document's best claim, lexically and with vectors, under both parameter sets.
    fn cases() -> Vec<(Document, ClaimMatcher, ClaimMatch, Params)> {
        let (claim_vectors, doc_vectors) = vectors();
        let mut out = Vec::new();
        for semantic in [false, true] {
            let params = if semantic {
                Params::default()
            } else {
                Params::lexical()
            };
            let mut m = ClaimMatcher::new(claims()).unwrap();
            if semantic {
                m.set_vectors(claim_vectors.clone(), &params);
            }
            for (d, v) in documents().into_iter().zip(&doc_vectors) {
                let vector = semantic.then_some(v.as_slice());
                let best = m.rank(&d.text, vector, &params, 1).unwrap().remove(0);
                out.push((
                    d,
                    ClaimMatcher::new(claims()).unwrap(),
                    best,
                    params.clone(),
                ));
            }
        }
        out
    }

    #[test]
    fn body_is_what_the_cli_built() {
        let cases = cases();
        let verdicts: std::collections::HashSet<Verdict> = cases
            .iter()
            .map(|(_, _, best, params)| verdict(best.score, params))
            .collect();
        assert!(verdicts.len() >= 2, "{verdicts:?}");
        assert!(cases.iter().any(|(_, _, b, _)| !b.refutes.is_empty()));
        assert!(cases.iter().any(|(_, _, b, _)| b.semantic.is_some()));
        let now = Utc.with_ymd_and_hms(2024, 3, 3, 0, 0, 0).unwrap();
        for (d, m, best, params) in &cases {
            let claim = &m.claims()[best.claim];
            let typed = ClaimMatchFinding::new(d, claim, best, params);
            let want = body_as_the_cli_built_it(d, m, best, params);
            assert_eq!(serde_json::to_value(&typed).unwrap(), want, "{}", d.id);
            let f = typed.finding(params, now);
            assert_eq!(
                f.id,
                format!(
                    "claim-match:{}",
                    &varta_core::stable_hash(&["claim-match", &d.id, &claim.id])[..16]
                )
            );
            assert_eq!((f.kind.as_str(), f.detector.as_str()), (KIND, DETECTOR));
            assert_eq!(f.parameters, serde_json::to_value(params).unwrap());
            assert_eq!(f.score, f64::from(best.score));
            assert_eq!(f.first_seen, d.published_at);
            assert_eq!(f.created_at, now);
            assert_eq!(f.documents, std::slice::from_ref(&d.id));
            assert_eq!(f.body, want);
        }
        let long = &cases[0].0;
        assert_eq!(
            ClaimMatchFinding::new(long, &claims()[0], &cases[0].2, &cases[0].3)
                .text
                .chars()
                .count(),
            TEXT_CHARS + 1
        );
    }

    /// `claims match --json` printed `match_json` alone: `MatchedClaim` is it.
    #[test]
    fn matched_claim_is_what_claims_match_printed() {
        for (d, m, best, params) in cases() {
            let typed = MatchedClaim::new(&m.claims()[best.claim], &best, &params);
            let want = body_as_the_cli_built_it(&d, &m, &best, &params)["match"].take();
            assert_eq!(serde_json::to_value(&typed).unwrap(), want);
        }
    }

    #[test]
    fn body_round_trips() {
        for (d, m, best, params) in cases() {
            let typed = ClaimMatchFinding::new(&d, &m.claims()[best.claim], &best, &params);
            let text = serde_json::to_string(&typed).unwrap();
            assert_eq!(
                serde_json::from_str::<ClaimMatchFinding>(&text).unwrap(),
                typed
            );
            // A stored body holds the scores widened to f64; they narrow back exactly.
            let value = serde_json::to_value(&typed).unwrap();
            let stored = serde_json::to_string(&value).unwrap();
            assert_eq!(
                serde_json::from_str::<ClaimMatchFinding>(&stored).unwrap(),
                typed
            );
            assert_eq!(
                serde_json::from_value::<ClaimMatchFinding>(value).unwrap(),
                typed
            );
        }
    }

    #[test]
    fn verdicts_and_short_texts() {
        let p = Params::default();
        assert_eq!(verdict(p.matched, &p), Verdict::Match);
        assert_eq!(verdict(p.suggest, &p), Verdict::Suggest);
        assert_eq!(verdict(p.suggest - 0.01, &p), Verdict::None);
        assert_eq!(format!("{:<7}|", Verdict::Match), "match  |");
        for v in [Verdict::Match, Verdict::Suggest, Verdict::None] {
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        assert_eq!(short("абвгд", 5), "абвгд");
        assert_eq!(short("абвгде", 5), "абвгд…");
        assert_eq!(short("", 5), "");
    }
}
