//! Alerts: CloudEvents 1.0 (structured JSON) built once per alert, and their delivery to each
//! sink from the watcher's outbox — webhooks (signed with HMAC-SHA256, retried with exponential
//! backoff and jitter, given up into a dead-letter file after the last retry), a JSON-lines
//! file, standard output, and the TAXII `alerts` collection (as STIX sightings).
//!
//! Delivery is at least once: an alert is marked delivered only after the sink took it, so a
//! crash in between sends it again, with the same `id`, for receivers to drop.

use super::config::AlertConfig;
use crate::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use varta_core::Finding;
use varta_store::{OutboxItem, TaxiiObject, WatchDb};

/// Header carrying the body's signature: `sha256=<hex HMAC-SHA256 of the body with the secret>`.
pub const SIGNATURE_HEADER: &str = "X-Varta-Signature";

/// A CloudEvent in structured mode.
#[derive(Debug, Clone, Serialize)]
pub struct CloudEvent {
    pub specversion: &'static str,
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub time: String,
    pub datacontenttype: &'static str,
    pub data: AlertData,
}

/// What an alert says: why it fired, the finding with its evidence, and where to see it.
#[derive(Debug, Clone, Serialize)]
pub struct AlertData {
    /// `rule`, `burst` or `group`.
    pub alert: String,
    /// The rule's name, or the burst's key, or the group's id.
    pub trigger: String,
    /// 1 for a new finding; each update (the finding grew) counts up.
    pub revision: u32,
    pub summary: String,
    pub link: String,
    pub finding: Finding,
}

/// The alert's id: the same finding at the same revision is the same alert, whoever sends it
/// and however often.
pub fn alert_id(finding: &str, revision: u32) -> String {
    varta_core::stable_hash(&["alert", finding, &revision.to_string()])
}

pub fn event(source: &str, time: DateTime<Utc>, data: AlertData) -> CloudEvent {
    CloudEvent {
        specversion: "1.0",
        id: alert_id(&data.finding.id, data.revision),
        source: source.to_string(),
        kind: format!("org.varta.alert.{}", data.alert),
        subject: data.finding.id.clone(),
        time: time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        datacontenttype: "application/json",
        data,
    }
}

/// The sink name of `[[alert]]` number `i` (0-based) as the outbox keeps it.
pub fn sink_name(i: usize, a: &AlertConfig) -> String {
    let kind = if a.webhook.is_some() {
        "webhook"
    } else if a.jsonl.is_some() {
        "jsonl"
    } else if a.stdout {
        "stdout"
    } else {
        "taxii"
    };
    format!("{kind}:{i}")
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body);
    let mut out = String::from("sha256=");
    for b in tag.as_ref() {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The wait before attempt `attempts + 1`: `base · 2^attempts`, ±20% jitter, at most an hour.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempts.min(16));
    let capped = exp.min(Duration::from_secs(3600));
    let jitter = getrandom::u64().unwrap_or(0) % 401; // 0..=400 → 0.8..=1.2
    capped.mul_f64(0.8 + jitter as f64 / 1000.0)
}

/// Delivers one outbox item to a non-TAXII sink. `Err` is the reason to retry.
pub fn deliver(a: &AlertConfig, item: &OutboxItem) -> std::result::Result<(), String> {
    if let Some(url) = &a.webhook {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .timeout_global(Some(a.timeout.0))
            .build();
        let agent = ureq::Agent::new_with_config(config);
        let mut req = agent.post(url.as_str()).header(
            "Content-Type",
            "application/cloudevents+json; charset=utf-8",
        );
        if let Some(secret) = &a.secret {
            req = req.header(SIGNATURE_HEADER, signature(secret, item.body.as_bytes()));
        }
        let resp = req.send(item.body.as_bytes()).map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        return if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(format!("webhook answered HTTP {status}"))
        };
    }
    if let Some(path) = &a.jsonl {
        return append_line(Path::new(path), &item.body).map_err(|e| format!("{path}: {e}"));
    }
    if a.stdout {
        let mut out = std::io::stdout().lock();
        return writeln!(out, "{}", item.body)
            .and_then(|()| out.flush())
            .map_err(|e| format!("stdout: {e}"));
    }
    Err("this sink is delivered by the watcher's main loop".into())
}

/// Appends `line` and a newline, and syncs: a delivered alert is on disk.
pub fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    f.write_all(&buf)?;
    f.sync_data()
}

/// Records a failed attempt: a retry later, or the dead-letter file after the last.
pub fn failed(
    journal: &WatchDb,
    a: &AlertConfig,
    item: &OutboxItem,
    error: &str,
    dead_letter: &Path,
    now_ms: i64,
) -> Result<bool> {
    let dead = item.attempts >= a.retries;
    if dead {
        let line = json!({
            "id": item.id,
            "sink": item.sink,
            "attempts": item.attempts + 1,
            "error": error,
            "event": serde_json::from_str::<Value>(&item.body).unwrap_or(Value::Null),
        });
        if let Err(e) = append_line(dead_letter, &line.to_string()) {
            tracing::error!(error = %e, file = %dead_letter.display(), "cannot write the dead-letter file");
        }
        tracing::warn!(alert = %item.id, sink = %item.sink, %error, "alert given up after its last retry");
    } else {
        tracing::info!(alert = %item.id, sink = %item.sink, %error, attempt = item.attempts + 1, "alert delivery failed; will retry");
    }
    let wait = backoff(a.backoff.0, item.attempts);
    let due = now_ms.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
    journal.failed(&item.id, &item.sink, error, due, dead)?;
    Ok(dead)
}

/// The STIX objects of one alert for the TAXII `alerts` collection: an `indicator` standing for
/// what fired (the rule, the burst's key, the group) and a `sighting` of it, whose id follows
/// the alert's id (a resent alert is the same object).
pub fn sighting(event: &Value) -> Vec<Value> {
    let data = &event["data"];
    let trigger = data["trigger"].as_str().unwrap_or("");
    let alert = data["alert"].as_str().unwrap_or("");
    let finding = &data["finding"];
    let time = event["time"].as_str().unwrap_or("1970-01-01T00:00:00.000Z");
    let indicator_id = crate::stix::sdo_id("indicator", &format!("{alert}|{trigger}"));
    let indicator = json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": indicator_id,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": format!("varta {alert}: {trigger}"),
        "indicator_types": ["anomalous-activity"],
        "pattern_type": "stix",
        "pattern": format!("[x-varta-alert:trigger = '{}']", trigger.replace('\\', "\\\\").replace('\'', "\\'")),
        "valid_from": "2026-01-01T00:00:00.000Z",
    });
    let count = finding["documents"]
        .as_array()
        .map_or(1, |d| d.len().max(1));
    let first = finding["first_seen"].as_str().unwrap_or(time);
    let id = event["id"].as_str().unwrap_or("");
    let sighting = json!({
        "type": "sighting",
        "spec_version": "2.1",
        "id": crate::stix::sdo_id("sighting", id),
        "created": time,
        "modified": time,
        "sighting_of_ref": indicator_id,
        "count": count.min(999_999_999),
        "first_seen": stix_time(first),
        "last_seen": time,
        "description": data["summary"],
        "external_references": [{
            "source_name": "varta",
            "external_id": id,
            "url": data["link"],
        }],
    });
    vec![indicator, sighting]
}

fn stix_time(t: &str) -> String {
    DateTime::parse_from_rfc3339(t)
        .map(|d| {
            d.with_timezone(&Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        })
        .unwrap_or_else(|_| t.to_string())
}

/// The TAXII entries of `events` (each event's objects).
pub fn taxii_objects(events: &[Value]) -> Vec<TaxiiObject> {
    events
        .iter()
        .flat_map(sighting)
        .filter_map(|o| crate::taxii::entry(&o))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        for attempts in 0..6 {
            let b = backoff(Duration::from_secs(2), attempts);
            let base = 2.0 * f64::from(1u32 << attempts);
            assert!(b.as_secs_f64() >= base * 0.79 && b.as_secs_f64() <= base * 1.21);
        }
        assert!(backoff(Duration::from_secs(2), 40) <= Duration::from_secs(4400));
    }
}
