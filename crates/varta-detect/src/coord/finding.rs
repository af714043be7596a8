//! A coordinated group as a stored finding: the group with names instead of indices, times as
//! RFC 3339, and an id that stays the same for the same members and window parameter.
//!
//! The network works on actor and post indices ([`Group`]); a finding must stand on its own once
//! the network is gone, so [`GroupFinding`] names them (actor ids, document ids) with what
//! [`Collected`] kept beside the network.
//!
//! The body is the record as a `serde_json::Value` ([`GroupFinding::finding`]), whose keys are
//! sorted; serializing the struct directly gives the same values with keys in declaration order.

use super::collect::Collected;
use super::network::{Group, KeyKind, Params, Window};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Detector name and version recorded with every finding.
pub const DETECTOR: &str = "varta-detect/coordination 1";
/// The finding kind.
pub const KIND: &str = "coordinated-network";

/// A time in seconds as a UTC time, to the millisecond (the precision the collector keeps);
/// `None` out of chrono's range.
pub fn time_of(secs: f64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis((secs * 1000.0).round() as i64)
}

/// A time in seconds as RFC 3339 with `Z`, with as many fractional digits as it has (none for
/// whole seconds); empty out of chrono's range.
pub fn rfc3339(secs: f64) -> String {
    time_of(secs).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    })
}

/// A group's id: `coordination:` and 16 hex digits of the hash of its sorted members and the
/// window parameter (`auto`, or the seconds given), so that a rerun over grown data with the same
/// members replaces the finding, and another window gives another one.
pub fn group_id<S: AsRef<str>>(members: &[S], window: Window) -> String {
    let mut sorted: Vec<&str> = members.iter().map(AsRef::as_ref).collect();
    sorted.sort_unstable();
    let joined = sorted.join("\n");
    let window = match window {
        Window::Auto => "auto".to_string(),
        Window::Seconds(s) => s.to_string(),
    };
    format!(
        "coordination:{}",
        &varta_core::stable_hash(&["coordination", &joined, &window])[..16]
    )
}

/// The group's earliest post in a co-share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstSeen {
    /// `None` when the group's post index is not among the documents given.
    pub document: Option<String>,
    pub actor: Option<String>,
    /// RFC 3339 (see [`rfc3339`]).
    pub time: String,
}

/// A key the group's members shared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedKeyBody {
    pub kind: KeyKind,
    pub key: String,
    pub members: usize,
    pub posts: usize,
    /// RFC 3339.
    pub first: String,
    pub spread_s: f64,
}

/// One co-share between two members: both posts and their times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceBody {
    pub kind: KeyKind,
    pub key: String,
    pub actor_a: String,
    pub document_a: String,
    /// RFC 3339.
    pub time_a: String,
    pub actor_b: String,
    pub document_b: String,
    pub time_b: String,
    pub delta_s: f64,
}

/// A coordinated group as a finding's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupFinding {
    /// See [`group_id`].
    pub id: String,
    /// Actor ids, in the group's order (by actor index, i.e. first appearance in the input).
    pub members: Vec<String>,
    pub core: Vec<String>,
    pub attached: Vec<String>,
    pub score: f64,
    pub density: f64,
    pub mean_weight: f64,
    pub mean_symmetry: f64,
    pub edges: usize,
    /// The window the network was built with, in seconds (the estimate when `auto`).
    pub window_s: f64,
    pub first_seen: FirstSeen,
    pub shared_keys: Vec<SharedKeyBody>,
    pub evidence: Vec<EvidenceBody>,
    /// Member posts in co-shares per hour: (hour start as RFC 3339, count).
    pub timeline: Vec<(String, u32)>,
}

impl GroupFinding {
    /// The group with its indices named. `actor_names` and `doc_ids` are the tables the group's
    /// indices point into ([`Collected::actor_names`], [`Collected::doc_ids`]); `window_s` is the
    /// network's window ([`super::network::Network::window`]); `params.window` goes into the id.
    ///
    /// # Panics
    ///
    /// When a member or evidence index is outside the tables: the group is from another network.
    pub fn new(
        group: &Group,
        actor_names: &[String],
        doc_ids: &[String],
        window_s: f64,
        params: &Params,
    ) -> GroupFinding {
        let names = |v: &[u32]| -> Vec<String> {
            v.iter().map(|&a| actor_names[a as usize].clone()).collect()
        };
        let members = names(&group.members);
        GroupFinding {
            id: group_id(&members, params.window),
            core: names(&group.core),
            attached: names(&group.attached),
            members,
            score: group.score,
            density: group.density,
            mean_weight: group.mean_weight,
            mean_symmetry: group.mean_symmetry,
            edges: group.edges,
            window_s,
            first_seen: FirstSeen {
                document: doc_ids.get(group.first_post as usize).cloned(),
                actor: actor_names.get(group.first_actor as usize).cloned(),
                time: rfc3339(group.first_seen),
            },
            shared_keys: group
                .shared_keys
                .iter()
                .map(|k| SharedKeyBody {
                    kind: k.kind,
                    key: k.key.clone(),
                    members: k.members,
                    posts: k.posts,
                    first: rfc3339(k.first),
                    spread_s: k.spread_s,
                })
                .collect(),
            evidence: group
                .evidence
                .iter()
                .map(|e| EvidenceBody {
                    kind: e.kind,
                    key: e.key.clone(),
                    actor_a: actor_names[e.actor_a as usize].clone(),
                    document_a: doc_ids[e.post_a as usize].clone(),
                    time_a: rfc3339(e.time_a),
                    actor_b: actor_names[e.actor_b as usize].clone(),
                    document_b: doc_ids[e.post_b as usize].clone(),
                    time_b: rfc3339(e.time_b),
                    delta_s: e.delta_s,
                })
                .collect(),
            timeline: group
                .timeline
                .iter()
                .map(|&(hour, n)| (rfc3339(hour as f64), n))
                .collect(),
        }
    }

    /// Every group of a collected network, in the network's order (best first), so that
    /// `c.network.groups` and the result zip.
    pub fn all(c: &Collected, params: &Params) -> Vec<GroupFinding> {
        c.network
            .groups
            .iter()
            .map(|g| GroupFinding::new(g, &c.actor_names, &c.doc_ids, c.network.window, params))
            .collect()
    }

    /// The documents the finding cites: the first post and both sides of every piece of
    /// evidence, sorted, each once.
    pub fn cited_documents(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .first_seen
            .document
            .iter()
            .chain(
                self.evidence
                    .iter()
                    .flat_map(|e| [&e.document_a, &e.document_b]),
            )
            .cloned()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The first post's time, read back from its RFC 3339 form: the same millisecond the network
    /// had (`None` when it was out of range, which printed as empty).
    pub fn first_seen_time(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.first_seen.time)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The stored finding, with this record as its body.
    pub fn finding(&self, params: &Params, created_at: DateTime<Utc>) -> varta_core::Finding {
        varta_core::Finding {
            id: self.id.clone(),
            kind: KIND.to_string(),
            detector: DETECTOR.to_string(),
            parameters: crate::json_value(params),
            score: self.score,
            first_seen: self.first_seen_time(),
            created_at,
            documents: self.cited_documents(),
            body: crate::json_value(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coord::collect::Collector;
    use chrono::TimeZone;
    use varta_core::{Document, Format};

    const PUSH: &str = "Київ готують до найважчої весни за останні роки: з першого квітня у \
        столиці нібито запровадять графіки відключень електроенергії тривалістю до шістнадцяти \
        годин на добу.";

    fn doc(id: &str, actor: &str, millis: i64, links: &[&str], text: &str, tags: bool) -> Document {
        let at = DateTime::from_timestamp_millis(millis).unwrap();
        Document {
            id: id.into(),
            source: "telegram".into(),
            format: Format::Telegram,
            actor_id: Some(actor.into()),
            native_id: None,
            url: None,
            canonical_url: None,
            title: None,
            author: None,
            text: text.into(),
            raw: None,
            language: "uk".into(),
            language_confidence: 1.0,
            published_at: Some(at),
            collected_at: at,
            links: links.iter().map(|l| l.to_string()).collect(),
            hashtags: if tags {
                vec!["київ".into(), "світло".into()]
            } else {
                vec![]
            },
            mentions: vec![],
            repost_of: None,
            forwarded_from: None,
            reply_to: None,
            content_hash: varta_core::content_hash(text),
        }
    }

    /// Three channels pushing the same link and text within seconds (some at fractions of a
    /// second), three times, a fourth joining the first push, and sixty others sharing a news
    /// link around them.
    fn collected(params: &Params) -> Collected {
        let start = Utc
            .with_ymd_and_hms(2024, 3, 2, 8, 0, 0)
            .unwrap()
            .timestamp_millis();
        let mut c = Collector::new();
        for push in 0..3i64 {
            let t0 = start + push * 10_000_000;
            for a in 0..4i64 {
                if a == 3 && push > 0 {
                    continue;
                }
                let link = format!("https://x.example/{push}");
                c.push(doc(
                    &format!("p{push}-{a}"),
                    &format!("telegram:ch{a}"),
                    t0 + a * 1_250,
                    &[&link],
                    &format!("{PUSH} {push}"),
                    true,
                ));
            }
            // A viral link of the day: sixty of six hundred channels, five seconds apart.
            for o in 0..60i64 {
                let who = (o * [7, 11, 13][push as usize] + push * 37) % 600;
                c.push(doc(
                    &format!("n{push}-{o}"),
                    &format!("telegram:news{who}"),
                    t0 + 5_000 * o,
                    &[&format!("https://news.example/big/{push}")],
                    "",
                    false,
                ));
            }
        }
        c.finish(params)
    }

    /// What `varta detect coordination` stored before the body had a type (its `group_bodies`).
    fn bodies_as_the_cli_built_them(c: &Collected, params: &Params) -> Vec<serde_json::Value> {
        let names = &c.actor_names;
        let window_param = match params.window {
            Window::Auto => "auto".to_string(),
            Window::Seconds(s) => s.to_string(),
        };
        c.network
            .groups
            .iter()
            .map(|g| {
                let members: Vec<&str> = g.members.iter().map(|&a| names[a as usize].as_str()).collect();
                let mut sorted = members.clone();
                sorted.sort_unstable();
                let joined = sorted.join("\n");
                let id = format!(
                    "coordination:{}",
                    &varta_core::stable_hash(&["coordination", &joined, &window_param])[..16]
                );
                let name_list = |v: &[u32]| -> Vec<&str> { v.iter().map(|&a| names[a as usize].as_str()).collect() };
                serde_json::json!({
                    "id": id,
                    "members": members,
                    "core": name_list(&g.core),
                    "attached": name_list(&g.attached),
                    "score": g.score,
                    "density": g.density,
                    "mean_weight": g.mean_weight,
                    "mean_symmetry": g.mean_symmetry,
                    "edges": g.edges,
                    "window_s": c.network.window,
                    "first_seen": {
                        "document": c.doc_ids.get(g.first_post as usize),
                        "actor": names.get(g.first_actor as usize),
                        "time": rfc3339(g.first_seen),
                    },
                    "shared_keys": g.shared_keys.iter().map(|k| serde_json::json!({
                        "kind": k.kind.name(),
                        "key": k.key,
                        "members": k.members,
                        "posts": k.posts,
                        "first": rfc3339(k.first),
                        "spread_s": k.spread_s,
                    })).collect::<Vec<_>>(),
                    "evidence": g.evidence.iter().map(|e| serde_json::json!({
                        "kind": e.kind.name(),
                        "key": e.key,
                        "actor_a": names[e.actor_a as usize],
                        "document_a": c.doc_ids[e.post_a as usize],
                        "time_a": rfc3339(e.time_a),
                        "actor_b": names[e.actor_b as usize],
                        "document_b": c.doc_ids[e.post_b as usize],
                        "time_b": rfc3339(e.time_b),
                        "delta_s": e.delta_s,
                    })).collect::<Vec<_>>(),
                    "timeline": g.timeline.iter().map(|(h, n)| serde_json::json!([rfc3339(*h as f64), n])).collect::<Vec<_>>(),
                })
            })
            .collect()
    }

    /// The CLI's `cited_documents`, over the JSON body.
    fn cited_as_the_cli_read_them(body: &serde_json::Value) -> Vec<String> {
        let mut ids: Vec<String> = std::iter::once(&body["first_seen"]["document"])
            .chain(
                body["evidence"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|e| [&e["document_a"], &e["document_b"]]),
            )
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    fn params(window: Window) -> Params {
        Params {
            window,
            ..Params::default()
        }
    }

    #[test]
    fn body_is_what_the_cli_built() {
        for window in [Window::Seconds(60.0), Window::Seconds(7.5), Window::Auto] {
            let params = params(window);
            let c = collected(&params);
            assert_eq!(
                c.network.groups.len(),
                1,
                "{window:?} {:#?}",
                GroupFinding::all(&c, &params)
            );
            let typed = GroupFinding::all(&c, &params);
            let g = &typed[0];
            assert_eq!(
                g.core,
                ["telegram:ch0", "telegram:ch1", "telegram:ch2"],
                "{window:?}"
            );
            assert_eq!(g.attached, ["telegram:ch3"]);
            assert!(g.shared_keys.iter().any(|k| k.kind == KeyKind::Text));
            assert!(g.shared_keys.iter().any(|k| k.kind == KeyKind::Link));
            assert!(g.evidence.iter().any(|e| e.time_b.contains('.')));
            let want = bodies_as_the_cli_built_them(&c, &params);
            let got: Vec<serde_json::Value> = typed
                .iter()
                .map(|t| serde_json::to_value(t).unwrap())
                .collect();
            assert_eq!(got, want, "{window:?}");
            let now = Utc.with_ymd_and_hms(2024, 3, 3, 0, 0, 0).unwrap();
            let f = g.finding(&params, now);
            let group = &c.network.groups[0];
            assert_eq!(f.id, want[0]["id"].as_str().unwrap());
            assert_eq!((f.kind.as_str(), f.detector.as_str()), (KIND, DETECTOR));
            assert_eq!(f.parameters, serde_json::to_value(params).unwrap());
            assert_eq!(f.score, group.score);
            assert_eq!(f.first_seen, time_of(group.first_seen));
            assert_eq!(f.created_at, now);
            assert_eq!(f.documents, cited_as_the_cli_read_them(&want[0]));
            assert!(f.documents.len() > 2);
            assert_eq!(f.body, want[0]);
        }
    }

    #[test]
    fn ids_follow_members_and_window_parameter() {
        let a = group_id(&["b", "a", "c"], Window::Seconds(60.0));
        assert_eq!(a, group_id(&["a", "b", "c"], Window::Seconds(60.0)));
        assert_ne!(a, group_id(&["a", "b", "c"], Window::Auto));
        assert_ne!(a, group_id(&["a", "b"], Window::Seconds(60.0)));
        assert_eq!(
            a,
            format!(
                "coordination:{}",
                &varta_core::stable_hash(&["coordination", "a\nb\nc", "60"])[..16]
            )
        );
    }

    /// A key kind serializes as its name, which is what the body held.
    #[test]
    fn key_kinds_serialize_as_their_names() {
        for k in [
            KeyKind::Link,
            KeyKind::Text,
            KeyKind::Repost,
            KeyKind::Reply,
            KeyKind::Hashtags,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.name());
            assert_eq!(
                serde_json::from_value::<KeyKind>(k.name().into()).unwrap(),
                k
            );
        }
    }

    /// A group whose first post is not among the documents given, and a time out of range: the
    /// body holds null and an empty time, as it did, and the finding has no first time.
    #[test]
    fn missing_names_are_null() {
        let params = params(Window::Seconds(60.0));
        let c = collected(&params);
        let mut group = c.network.groups[0].clone();
        group.first_post = u32::MAX;
        group.first_actor = u32::MAX;
        group.first_seen = 1e300;
        let g = GroupFinding::new(&group, &c.actor_names, &c.doc_ids, 60.0, &params);
        let v = serde_json::to_value(&g).unwrap();
        assert_eq!(
            v["first_seen"],
            serde_json::json!({"document": null, "actor": null, "time": ""})
        );
        let f = g.finding(&params, Utc::now());
        assert_eq!(f.first_seen, None);
        assert_eq!(f.documents, cited_as_the_cli_read_them(&v));
        assert_eq!(serde_json::from_value::<GroupFinding>(v).unwrap(), g);
    }

    #[test]
    fn body_round_trips() {
        for window in [Window::Seconds(60.0), Window::Auto] {
            let params = params(window);
            for g in GroupFinding::all(&collected(&params), &params) {
                let text = serde_json::to_string(&g).unwrap();
                assert_eq!(serde_json::from_str::<GroupFinding>(&text).unwrap(), g);
                let value = serde_json::to_value(&g).unwrap();
                assert_eq!(serde_json::from_value::<GroupFinding>(value).unwrap(), g);
            }
        }
    }

    /// Measures as real networks give them, seventeen significant digits, come back exactly from
    /// a `Value`. From text they may not: serde_json without its `float_roundtrip` feature can
    /// read such a number one unit in the last place off (13862.943611198905 came back as
    /// …903), for these bodies as for any JSON.
    #[test]
    fn odd_measures_round_trip_through_a_value() {
        let params = params(Window::Seconds(60.0));
        let c = collected(&params);
        let mut odd = c.network.groups[0].clone();
        odd.score = 0.6615160131269762;
        odd.density = 34.0 / 35.0;
        odd.mean_weight = 2.1345247083637493;
        odd.mean_symmetry = 0.1 + 0.2;
        for (i, k) in odd.shared_keys.iter_mut().enumerate() {
            k.spread_s = (i as f64 + 2.0).ln() * 1e4;
        }
        for (i, e) in odd.evidence.iter_mut().enumerate() {
            e.delta_s = (i as f64 + 1.0) / 7.0;
        }
        let g = GroupFinding::new(&odd, &c.actor_names, &c.doc_ids, c.network.window, &params);
        let value = serde_json::to_value(&g).unwrap();
        assert_eq!(serde_json::from_value::<GroupFinding>(value).unwrap(), g);
    }
}
