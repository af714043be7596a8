//! Column mappings for generic CSV and JSON lines (`--map field=column,...`).
//!
//! Exports from social-listening tools name their columns in a dozen ways; the common names map by
//! default, and `--map` names the rest.

use std::collections::BTreeMap;

/// The document fields a column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Id,
    Text,
    Title,
    Url,
    Actor,
    ActorName,
    PublishedAt,
    Lang,
    RepostOf,
    ReplyTo,
    ForwardedFrom,
    Links,
    Hashtags,
}

impl Field {
    const ALL: [Field; 13] = [
        Field::Id,
        Field::Text,
        Field::Title,
        Field::Url,
        Field::Actor,
        Field::ActorName,
        Field::PublishedAt,
        Field::Lang,
        Field::RepostOf,
        Field::ReplyTo,
        Field::ForwardedFrom,
        Field::Links,
        Field::Hashtags,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Text => "text",
            Field::Title => "title",
            Field::Url => "url",
            Field::Actor => "actor",
            Field::ActorName => "actor_name",
            Field::PublishedAt => "published_at",
            Field::Lang => "lang",
            Field::RepostOf => "repost_of",
            Field::ReplyTo => "reply_to",
            Field::ForwardedFrom => "forwarded_from",
            Field::Links => "links",
            Field::Hashtags => "hashtags",
        }
    }

    /// Column names recognised without `--map`, in order of preference.
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::Id => &[
                "id",
                "message_id",
                "post_id",
                "tweet_id",
                "native_id",
                "guid",
            ],
            Field::Text => &[
                "text",
                "message",
                "body",
                "content",
                "full_text",
                "post_text",
                "caption",
            ],
            Field::Title => &["title", "headline"],
            Field::Url => &["url", "link", "permalink", "post_url"],
            Field::Actor => &[
                "actor",
                "author",
                "username",
                "user_name",
                "screen_name",
                "handle",
                "user",
                "account",
                "channel",
                "from",
                "author_id",
                "user_id",
            ],
            Field::ActorName => &["actor_name", "display_name", "author_name", "name"],
            Field::PublishedAt => &[
                "published_at",
                "date",
                "datetime",
                "created_at",
                "timestamp",
                "published",
                "pub_date",
                "time",
            ],
            Field::Lang => &["lang", "language"],
            Field::RepostOf => &["repost_of", "repost_id", "retweet_id", "shared_id"],
            Field::ReplyTo => &["reply_to", "reply_id", "in_reply_to", "parent_id"],
            Field::ForwardedFrom => &["forwarded_from", "forward_from"],
            Field::Links => &["links", "urls"],
            Field::Hashtags => &["hashtags", "tags"],
        }
    }
}

/// A `--map` argument that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("--map entry {0:?} is not field=column")]
    Syntax(String),
    #[error(
        "--map names unknown field {0:?} (fields: id, text, title, url, actor, actor_name, published_at, lang, repost_of, reply_to, forwarded_from, links, hashtags)"
    )]
    UnknownField(String),
}

/// Which column fills which field: explicit entries from `--map`, the rest by common names.
#[derive(Debug, Clone, Default)]
pub struct FieldMap {
    explicit: BTreeMap<Field, String>,
}

impl FieldMap {
    /// Parses `field=column,field=column`. Column names for JSON lines may be dotted paths
    /// (`user.screen_name`).
    pub fn parse(spec: &str) -> Result<FieldMap, MapError> {
        let mut explicit = BTreeMap::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (f, c) = part
                .split_once('=')
                .ok_or_else(|| MapError::Syntax(part.to_string()))?;
            let field = Field::ALL
                .into_iter()
                .find(|x| x.name() == f.trim())
                .ok_or_else(|| MapError::UnknownField(f.trim().to_string()))?;
            explicit.insert(field, c.trim().to_string());
        }
        Ok(FieldMap { explicit })
    }

    /// For CSV: the column index of each field, given the header. Fails when an explicitly mapped
    /// column is missing, or no column gives the text.
    pub(crate) fn resolve_header(
        &self,
        header: &[String],
    ) -> Result<BTreeMap<Field, usize>, String> {
        let lower: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
        let mut out = BTreeMap::new();
        for f in Field::ALL {
            if let Some(col) = self.explicit.get(&f) {
                let i = lower
                    .iter()
                    .position(|h| *h == col.to_lowercase())
                    .ok_or_else(|| {
                        format!("--map {}={col}: no column {col:?} in the header", f.name())
                    })?;
                out.insert(f, i);
            } else if let Some(i) = f
                .synonyms()
                .iter()
                .find_map(|s| lower.iter().position(|h| h == s))
            {
                // A column already taken explicitly is not reused by a synonym.
                if !out.values().any(|v| *v == i) {
                    out.insert(f, i);
                }
            }
        }
        if !out.contains_key(&Field::Text) && !out.contains_key(&Field::Title) {
            return Err(format!(
                "no text column among {header:?}; name it with --map text=COLUMN (and id=, actor=, published_at=, ...)"
            ));
        }
        Ok(out)
    }

    /// For JSON: the value of `field` in `obj`, by the explicit path or the first synonym present.
    pub(crate) fn lookup<'a>(
        &self,
        obj: &'a serde_json::Value,
        field: Field,
    ) -> Option<&'a serde_json::Value> {
        if let Some(path) = self.explicit.get(&field) {
            return path.split('.').try_fold(obj, |v, k| v.get(k));
        }
        field
            .synonyms()
            .iter()
            .find_map(|k| obj.get(*k).filter(|v| !v.is_null()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_resolve() {
        let m = FieldMap::parse("text=Body, actor=Who").unwrap();
        let h: Vec<String> = ["ID", "Who", "Body", "date"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let r = m.resolve_header(&h).unwrap();
        assert_eq!(r[&Field::Id], 0);
        assert_eq!(r[&Field::Actor], 1);
        assert_eq!(r[&Field::Text], 2);
        assert_eq!(r[&Field::PublishedAt], 3);
        assert!(FieldMap::parse("bogus=x").is_err());
        assert!(FieldMap::parse("text").is_err());
        assert!(
            FieldMap::default()
                .resolve_header(&["a".to_string()])
                .is_err()
        );
    }

    #[test]
    fn json_paths() {
        let m = FieldMap::parse("actor=user.screen_name").unwrap();
        let v: serde_json::Value =
            serde_json::json!({"user": {"screen_name": "x"}, "message": "hi"});
        assert_eq!(
            m.lookup(&v, Field::Actor).and_then(|v| v.as_str()),
            Some("x")
        );
        assert_eq!(
            m.lookup(&v, Field::Text).and_then(|v| v.as_str()),
            Some("hi")
        );
    }
}
