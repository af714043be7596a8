//! Reading reviewed claims: ClaimReview JSON-LD (one object, an array, an `@graph`), Google Fact
//! Check Tools JSON (`claims[].claimReview[]`), and EUvsDisinfo-style CSV.
//!
//! Fact-check files come from partners and scrapes, so each record is read on its own: a record
//! that lacks a claim text is reported by its position and the rest are kept.

use chrono::{DateTime, Utc};
use serde_json::Value;
use varta_core::Claim;

/// Why one record of a claims file was not read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{record}: {message}")]
pub struct RecordError {
    /// Where in the file: `claims[3].claimReview[0]`, `[12]`, `line 40`.
    pub record: String,
    pub message: String,
}

/// Why a claims file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no ClaimReview objects, Fact Check Tools `claims`, or claim columns found")]
    Shape,
    #[error("CSV header lacks a `title` or `summary` column (found: {0})")]
    CsvHeader(String),
}

/// Claims read from one file, and the records that could not be.
#[derive(Debug, Default)]
pub struct Imported {
    pub claims: Vec<Claim>,
    pub errors: Vec<RecordError>,
}

/// Reads a claims file, JSON or CSV by its content (JSON starts with `{` or `[`).
pub fn read_claims(bytes: &[u8]) -> Result<Imported, ImportError> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}');
    match text.trim_start().chars().next() {
        Some('{') | Some('[') => read_json(text),
        _ => read_csv(text),
    }
}

fn str_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        // schema.org lets most text properties be a list; the first is the main one.
        Value::Array(a) => a.iter().find_map(str_of),
        Value::Object(o) => o.get("name").or_else(|| o.get("@value")).and_then(str_of),
        _ => None,
    }
}

fn field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(str_of)
}

fn date(v: Option<String>) -> Option<DateTime<Utc>> {
    v.as_deref().and_then(varta_text::dates::parse_datetime)
}

fn is_claim_review(v: &Value) -> bool {
    match v.get("@type") {
        Some(Value::String(t)) => t == "ClaimReview" || t.ends_with("/ClaimReview"),
        Some(Value::Array(a)) => a.iter().any(|t| t.as_str() == Some("ClaimReview")),
        _ => false,
    }
}

/// A schema.org ClaimReview object.
fn from_claim_review(v: &Value) -> Result<Claim, String> {
    let text = field(v, "claimReviewed").ok_or("no claimReviewed")?;
    let item = v.get("itemReviewed");
    let rating = v.get("reviewRating");
    let review_url = field(v, "url");
    let reviewer = v.get("author").and_then(str_of);
    let mut appearances = Vec::new();
    let mut claimant = None;
    let mut claim_date = None;
    if let Some(item) = item {
        claimant = item.get("author").and_then(str_of);
        claim_date = date(field(item, "datePublished"));
        for key in ["appearance", "firstAppearance"] {
            match item.get(key) {
                Some(Value::Array(a)) => appearances.extend(a.iter().filter_map(|x| {
                    x.get("url")
                        .and_then(str_of)
                        .or_else(|| x.as_str().map(str::to_string))
                })),
                Some(x) => appearances.extend(
                    x.get("url")
                        .and_then(str_of)
                        .or_else(|| x.as_str().map(str::to_string)),
                ),
                None => {}
            }
        }
    }
    let languages = ["inLanguage"]
        .iter()
        .filter_map(|k| field(v, k))
        .chain(item.and_then(|i| field(i, "inLanguage")))
        .map(|l| l.to_lowercase())
        .collect::<Vec<_>>();
    let keywords = match v.get("keywords") {
        Some(Value::String(s)) => s
            .split(',')
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect(),
        Some(Value::Array(a)) => a.iter().filter_map(str_of).collect(),
        _ => Vec::new(),
    };
    Ok(Claim {
        id: Claim::derive_id(review_url.as_deref(), &text, reviewer.as_deref()),
        rating: rating.and_then(|r| {
            field(r, "alternateName")
                .or_else(|| field(r, "name"))
                .or_else(|| field(r, "ratingValue").map(|v| format!("rating {v}")))
        }),
        review_date: date(field(v, "datePublished")),
        text,
        review_url,
        reviewer,
        claimant,
        claim_date,
        appearances,
        languages: dedup(languages),
        keywords,
        disproof: None,
        origin: "claimreview".into(),
    })
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
    v
}

/// One `claims[i]` of a Fact Check Tools response: a claim with one or more reviews.
fn from_fact_check_tools(v: &Value, at: &str, out: &mut Imported) {
    let Some(text) = field(v, "text") else {
        out.errors.push(RecordError {
            record: at.into(),
            message: "no text".into(),
        });
        return;
    };
    let claimant = field(v, "claimant");
    let claim_date = date(field(v, "claimDate"));
    let reviews = v
        .get("claimReview")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if reviews.is_empty() {
        out.errors.push(RecordError {
            record: at.into(),
            message: "no claimReview".into(),
        });
        return;
    }
    for r in reviews {
        let review_url = field(&r, "url");
        let reviewer = r
            .get("publisher")
            .and_then(|p| field(p, "name").or_else(|| field(p, "site")));
        out.claims.push(Claim {
            id: Claim::derive_id(review_url.as_deref(), &text, reviewer.as_deref()),
            text: text.clone(),
            rating: field(&r, "textualRating"),
            review_date: date(field(&r, "reviewDate")),
            review_url,
            reviewer,
            claimant: claimant.clone(),
            claim_date,
            appearances: Vec::new(),
            languages: field(&r, "languageCode")
                .map(|l| vec![l.to_lowercase()])
                .unwrap_or_default(),
            keywords: Vec::new(),
            disproof: field(&r, "title"),
            origin: "factcheck-tools".into(),
        });
    }
}

fn read_json(text: &str) -> Result<Imported, ImportError> {
    let root: Value = serde_json::from_str(text)?;
    let mut out = Imported::default();
    let push = |v: &Value, at: String, out: &mut Imported| match from_claim_review(v) {
        Ok(c) => out.claims.push(c),
        Err(message) => out.errors.push(RecordError {
            record: at,
            message,
        }),
    };
    match &root {
        Value::Object(o) if o.contains_key("claims") => {
            let claims = o
                .get("claims")
                .and_then(Value::as_array)
                .ok_or(ImportError::Shape)?;
            for (i, c) in claims.iter().enumerate() {
                from_fact_check_tools(c, &format!("claims[{i}]"), &mut out);
            }
        }
        Value::Object(o) if o.contains_key("@graph") => {
            let graph = o
                .get("@graph")
                .and_then(Value::as_array)
                .ok_or(ImportError::Shape)?;
            for (i, v) in graph.iter().enumerate().filter(|(_, v)| is_claim_review(v)) {
                push(v, format!("@graph[{i}]"), &mut out);
            }
        }
        Value::Object(_) if is_claim_review(&root) => push(&root, "the object".into(), &mut out),
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                if is_claim_review(v) {
                    push(v, format!("[{i}]"), &mut out);
                } else if v.get("claimReview").is_some() {
                    from_fact_check_tools(v, &format!("[{i}]"), &mut out);
                } else {
                    out.errors.push(RecordError {
                        record: format!("[{i}]"),
                        message: "not a ClaimReview".into(),
                    });
                }
            }
        }
        _ => return Err(ImportError::Shape),
    }
    if out.claims.is_empty() && out.errors.is_empty() {
        return Err(ImportError::Shape);
    }
    Ok(out)
}

/// Splits CSV text into records of fields (RFC 4180), with the line each starts on.
fn csv_records(text: &str) -> Vec<(usize, Vec<String>)> {
    use csv_core::{ReadFieldResult, Reader};
    let mut rdr = Reader::new();
    let mut input = text.as_bytes();
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = Vec::new();
    let mut buf = [0u8; 4096];
    let mut line = 1usize;
    let mut start_line = 1usize;
    loop {
        let (res, nin, nout) = rdr.read_field(input, &mut buf);
        line += input[..nin].iter().filter(|&&b| b == b'\n').count();
        input = &input[nin..];
        field.extend_from_slice(&buf[..nout]);
        match res {
            ReadFieldResult::InputEmpty if input.is_empty() => {
                // Flush the last field at end of input.
                let (res, _, nout) = rdr.read_field(&[], &mut buf);
                field.extend_from_slice(&buf[..nout]);
                if let ReadFieldResult::Field { record_end } = res {
                    record.push(String::from_utf8_lossy(&field).into_owned());
                    field.clear();
                    if record_end {
                        records.push((start_line, std::mem::take(&mut record)));
                    }
                }
                break;
            }
            ReadFieldResult::InputEmpty | ReadFieldResult::OutputFull => {}
            ReadFieldResult::Field { record_end } => {
                record.push(String::from_utf8_lossy(&field).into_owned());
                field.clear();
                if record_end {
                    records.push((start_line, std::mem::take(&mut record)));
                    start_line = line;
                }
            }
            ReadFieldResult::End => break,
        }
    }
    if !record.is_empty() {
        records.push((start_line, record));
    }
    records
}

/// EUvsDisinfo-style CSV: columns `title`, `summary`, `disproof`, `date`, `languages`, `keywords`,
/// `outlets`, `url`, in any order and case; `title` or `summary` is required.
fn read_csv(text: &str) -> Result<Imported, ImportError> {
    let records = csv_records(text);
    let mut it = records.into_iter();
    let Some((_, header)) = it.next() else {
        return Err(ImportError::CsvHeader(String::new()));
    };
    let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let col = |n: &str| names.iter().position(|h| h == n);
    let (title, summary) = (col("title"), col("summary"));
    if title.is_none() && summary.is_none() {
        return Err(ImportError::CsvHeader(names.join(",")));
    }
    let (disproof, day, langs, keywords, outlets, url) = (
        col("disproof"),
        col("date"),
        col("languages").or_else(|| col("language")),
        col("keywords"),
        col("outlets").or_else(|| col("outlet")),
        // The cknabs/EUvsDisinfo scrape names the case's URL `id`.
        col("url").or_else(|| col("id")),
    );
    let list = |s: Option<&String>| -> Vec<String> {
        s.map(|s| {
            // "Alexei Navalny+Vladimir Putin": the scrape joins list items with '+'.
            s.split([',', ';', '+'])
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
    };
    let mut out = Imported::default();
    for (line, rec) in it {
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |i: Option<usize>| {
            i.and_then(|i| rec.get(i))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let text = match (get(title), get(summary)) {
            (Some(t), Some(s)) if !s.starts_with(&t) => format!("{t}. {s}"),
            (_, Some(s)) => s,
            (Some(t), None) => t,
            (None, None) => {
                out.errors.push(RecordError {
                    record: format!("line {line}"),
                    message: "no title or summary".into(),
                });
                continue;
            }
        };
        let review_url = get(url).filter(|u| u.starts_with("http://") || u.starts_with("https://"));
        let outlets = list(outlets.and_then(|i| rec.get(i)));
        out.claims.push(Claim {
            id: Claim::derive_id(review_url.as_deref(), &text, Some("EUvsDisinfo")),
            text,
            rating: Some("Disinformation".into()),
            review_url,
            reviewer: Some("EUvsDisinfo".into()),
            review_date: date(get(day)),
            claimant: (!outlets.is_empty()).then(|| outlets.join(", ")),
            claim_date: None,
            appearances: Vec::new(),
            languages: list(langs.and_then(|i| rec.get(i))),
            keywords: list(keywords.and_then(|i| rec.get(i))),
            disproof: get(disproof),
            origin: "euvsdisinfo-csv".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_claim_review_object_and_array() {
        let one = r#"{"@context":"https://schema.org","@type":"ClaimReview","url":"https://fc.example/a",
            "claimReviewed":"Ukraine sells weapons on the dark web","datePublished":"2023-05-01",
            "author":{"@type":"Organization","name":"StopFake"},
            "reviewRating":{"@type":"Rating","ratingValue":1,"alternateName":"False"},
            "itemReviewed":{"@type":"Claim","author":{"name":"outlet"},"datePublished":"2023-04-30",
              "appearance":[{"@type":"CreativeWork","url":"https://outlet.example/1"}]},"inLanguage":"EN"}"#;
        let got = read_claims(one.as_bytes()).unwrap();
        assert_eq!(got.claims.len(), 1);
        let c = &got.claims[0];
        assert_eq!(c.text, "Ukraine sells weapons on the dark web");
        assert_eq!(c.rating.as_deref(), Some("False"));
        assert_eq!(c.reviewer.as_deref(), Some("StopFake"));
        assert_eq!(c.claimant.as_deref(), Some("outlet"));
        assert_eq!(c.appearances, ["https://outlet.example/1"]);
        assert_eq!(c.languages, ["en"]);
        assert_eq!(
            c.id,
            Claim::derive_id(Some("https://fc.example/a"), "", None)
        );
        let arr = format!("[{one}, {{\"@type\":\"ClaimReview\"}}, 3]");
        let got = read_claims(arr.as_bytes()).unwrap();
        assert_eq!(got.claims.len(), 1);
        assert_eq!(got.errors.len(), 2);
        assert_eq!(got.errors[0].record, "[1]");
    }

    #[test]
    fn reads_fact_check_tools_shape() {
        let j = r#"{"claims":[{"text":"Biolabs in Ukraine make bioweapons","claimant":"RT",
            "claimDate":"2022-03-01T00:00:00Z","claimReview":[
              {"publisher":{"name":"PolitiFact","site":"politifact.com"},"url":"https://pf.example/x",
               "title":"No, ...","reviewDate":"2022-03-05T00:00:00Z","textualRating":"False","languageCode":"en"},
              {"publisher":{"site":"stopfake.org"},"url":"https://sf.example/y","textualRating":"Фейк","languageCode":"ru"}]},
            {"claimant":"x"}]}"#;
        let got = read_claims(j.as_bytes()).unwrap();
        assert_eq!(got.claims.len(), 2);
        assert_eq!(got.claims[1].reviewer.as_deref(), Some("stopfake.org"));
        assert_eq!(got.claims[0].claimant.as_deref(), Some("RT"));
        assert_eq!(got.errors[0].record, "claims[1]");
    }

    #[test]
    fn reads_euvsdisinfo_csv() {
        let csv = "Title,Summary,Disproof,Date,Languages,Keywords,Outlets,URL\n\
            \"Kyiv regime\",\"The West, again, controls Kyiv.\",\"No evidence.\",2024-02-01,\"Russian, English\",\"West,Ukraine\",ria.example,https://euvsdisinfo.example/r/1\n\
            ,,,,,,,\n\
            ,,x,,,,,\n";
        let got = read_claims(csv.as_bytes()).unwrap();
        assert_eq!(got.claims.len(), 1);
        let c = &got.claims[0];
        assert_eq!(c.text, "Kyiv regime. The West, again, controls Kyiv.");
        assert_eq!(c.languages, ["Russian", "English"]);
        assert_eq!(c.keywords, ["West", "Ukraine"]);
        assert_eq!(c.disproof.as_deref(), Some("No evidence."));
        assert_eq!(got.errors.len(), 1);
        assert_eq!(got.errors[0].record, "line 4");
        assert!(matches!(
            read_claims(b"a,b\n1,2\n"),
            Err(ImportError::CsvHeader(_))
        ));
    }

    #[test]
    fn reads_the_scraped_euvsdisinfo_layout() {
        // cknabs/EUvsDisinfo: the case URL in `id`, lists joined with '+'.
        let csv = "date,id,title,countries,keywords,languages,outlets
            2021-02-18,https://euvsdisinfo.eu/report/a/,German special services helped Navalny,Russia+Germany,Alexei Navalny+Vladimir Putin,Russian,TASS - Russian
            2021-02-18,not-a-url,Another claim,Russia,x,English,y
";
        let got = read_claims(csv.as_bytes()).unwrap();
        assert_eq!(got.claims.len(), 2);
        let c = &got.claims[0];
        assert_eq!(
            c.review_url.as_deref(),
            Some("https://euvsdisinfo.eu/report/a/")
        );
        assert_eq!(c.keywords, ["Alexei Navalny", "Vladimir Putin"]);
        assert_eq!(c.languages, ["Russian"]);
        assert_eq!(got.claims[1].review_url, None);
    }
}
