//! Dates in machine formats and in Ukrainian, Russian and English prose.
//!
//! Publication dates reach Varta as machine timestamps (feeds, `<meta>` tags, JSON-LD, exports) and
//! as prose written for readers ("Опубліковано 16 жовтня 2018 року о 17:07", "вчера в 09:15",
//! "October 16, 2018 at 5:07 pm"). A time written without a zone is read as Kyiv local time, the
//! zone of most of the sources Varta watches. The Kyiv rule (UTC+2, summer time UTC+3 from the last
//! Sunday of March to the last Sunday of October, switching at 01:00 UTC) is small enough to live
//! here rather than pull the whole time-zone database into every build.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

const HOUR: i32 = 3600;

/// Parses a machine-written timestamp: RFC 3339, RFC 2822, ISO 8601 with or without zone and
/// seconds ("2018-10-16 17:07"), epoch seconds or milliseconds. A time without zone is Kyiv time;
/// a date without time is Kyiv midnight.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() || s.len() > 200 {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return parse_digits(s);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Some(d) = parse_iso(s.as_bytes()) {
        return Some(d);
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    // Feeds and meta tags also carry "Tue, 16 Oct 2018 17:07:00 EEST" or "16.10.2018 17:07": read
    // them with the prose reader, without the relative words and year guessing that need a "now".
    let toks = tokenize(s);
    let m = (0..toks.len()).find_map(|i| match_date_at(&toks, i, s, None))?;
    m.to_utc()
}

/// Finds the publication date written in prose ("Опубліковано 16 жовтня 2018 року о 17:07").
///
/// A date on a line that starts with "Опубліковано", "Опубликовано", "Published", "Дата
/// публікації"... (or right after such a line) wins; otherwise the first date with a year or a
/// time; otherwise the first bare day and month or lone relative word ("вчора"). Relative words
/// and dates without a year are resolved against `now` in Kyiv time. Years outside
/// 1990..=now+1 are rejected.
pub fn find_date_in_text(s: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    find_date(s, now, true)
}

/// Like [`find_date_in_text`] but ignores bare day-and-month dates and lone relative words, which
/// in the body of a web page are more often about the story than about its publication.
pub fn find_strong_date_in_text(s: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    find_date(s, now, false)
}

fn find_date(s: &str, now: DateTime<Utc>, allow_weak: bool) -> Option<DateTime<Utc>> {
    let toks = tokenize(s);
    let now_local = utc_to_kyiv(now);
    let max_year = now_local.year() + 1;
    let markers = marker_lines(&toks);
    let mut best: Option<(u8, DateTime<Utc>)> = None;
    let mut i = 0;
    while i < toks.len() {
        let Some(m) = match_date_at(&toks, i, s, Some(now_local)) else {
            i += 1;
            continue;
        };
        let end = m.end.max(i + 1);
        if let Some(dt) = m
            .to_utc()
            .filter(|_| (1990..=max_year).contains(&m.date.year()))
        {
            let rank = if markers.contains(&toks[i].line) {
                0
            } else if m.weak {
                2
            } else {
                1
            };
            if rank == 2 && !allow_weak {
                i = end;
                continue;
            }
            if rank == 0 {
                return Some(dt);
            }
            if best.is_none_or(|(r, _)| rank < r) {
                best = Some((rank, dt));
            }
        }
        i = end;
    }
    best.map(|(_, dt)| dt)
}

/// Whether `s` is a date line and nothing else: one full date (with its time and zone, if any),
/// a weekday and punctuation ("Вторник, 16 октября 2018, 17:07", "17:07 | 16.10.2018"). Such a
/// line under a title is the page's date; a sentence that mentions a date is not this.
pub fn is_bare_date(s: &str) -> bool {
    const WEEKDAYS: [&str; 35] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "понеділок",
        "вівторок",
        "середа",
        "четвер",
        "пʼятниця",
        "п'ятниця",
        "п’ятниця",
        "субота",
        "неділя",
        "понедельник",
        "вторник",
        "среда",
        "четверг",
        "пятница",
        "суббота",
        "воскресенье",
        "пн",
        "вт",
    ];
    let toks = tokenize(s);
    let mut covered = vec![false; toks.len()];
    let mut found = false;
    let mut i = 0;
    while i < toks.len() {
        match match_date_at(&toks, i, s, None) {
            Some(m) if !m.weak && !found => {
                let end = m.end.clamp(i + 1, toks.len());
                covered[i..end].iter_mut().for_each(|c| *c = true);
                found = true;
                i = end;
            }
            _ => i += 1,
        }
    }
    found
        && toks.iter().zip(&covered).all(|(t, &c)| {
            c || match t.kind {
                Kind::Sym => true,
                // The time before a date ("17:07, 16 жовтня 2018").
                Kind::Num => t.digits <= 2,
                Kind::Word => WEEKDAYS.contains(&t.lower.as_str()),
            }
        })
}

/// Offset of Kyiv local time from UTC at the given instant, in seconds (7200 or 10800).
pub fn kyiv_offset_seconds(utc: DateTime<Utc>) -> i32 {
    if is_summer_time(utc.naive_utc()) {
        3 * HOUR
    } else {
        2 * HOUR
    }
}

/// Kyiv wall-clock time at the given instant.
pub fn utc_to_kyiv(utc: DateTime<Utc>) -> NaiveDateTime {
    utc.naive_utc() + Duration::seconds(i64::from(kyiv_offset_seconds(utc)))
}

/// The instant of a Kyiv wall-clock time. In the autumn hour that happens twice the summer
/// reading is taken; a time in the skipped spring hour is read with the winter offset.
pub fn kyiv_to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    let as_summer = local - Duration::hours(3);
    if is_summer_time(as_summer) {
        as_summer.and_utc()
    } else {
        (local - Duration::hours(2)).and_utc()
    }
}

fn is_summer_time(utc: NaiveDateTime) -> bool {
    let year = utc.year();
    let (Some(start), Some(end)) = (last_sunday(year, 3), last_sunday(year, 10)) else {
        return false;
    };
    let one_am = NaiveTime::from_hms_opt(1, 0, 0).unwrap_or(NaiveTime::MIN);
    utc >= start.and_time(one_am) && utc < end.and_time(one_am)
}

fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }?;
    let last = first_of_next.pred_opt()?;
    let back = last.weekday().num_days_from_sunday();
    last.checked_sub_signed(Duration::days(i64::from(back)))
}

fn parse_digits(s: &str) -> Option<DateTime<Utc>> {
    let n: i64 = s.parse().ok()?;
    match s.len() {
        8 => {
            // 20181016 is a compact date far more often than a 1970 timestamp.
            let date = NaiveDate::parse_from_str(s, "%Y%m%d").ok()?;
            Some(kyiv_to_utc(date.and_time(NaiveTime::MIN)))
        }
        12 | 13 => DateTime::from_timestamp_millis(n),
        1..=11 => DateTime::from_timestamp(n, 0),
        _ => None,
    }
}

/// ISO 8601 and its everyday variants: `-`, `/` or `.` between date parts, `T` or spaces before
/// the time, optional seconds and fraction, optional `Z`, `UTC`, `GMT` or numeric offset.
fn parse_iso(b: &[u8]) -> Option<DateTime<Utc>> {
    let mut p = 0;
    let year = digits(b, &mut p, 4, 4)?;
    let sep = *b.get(p)?;
    let (month, day) = if matches!(sep, b'-' | b'/' | b'.') {
        p += 1;
        let month = digits(b, &mut p, 1, 2)?;
        if b.get(p) != Some(&sep) {
            return None;
        }
        p += 1;
        (month, digits(b, &mut p, 1, 2)?)
    } else {
        (digits(b, &mut p, 2, 2)?, digits(b, &mut p, 2, 2)?)
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    skip_spaces(b, &mut p);
    if p == b.len() {
        return Some(kyiv_to_utc(date.and_time(NaiveTime::MIN)));
    }
    if matches!(b.get(p), Some(b'T' | b't')) {
        p += 1;
    }
    skip_spaces(b, &mut p);
    let hour = digits(b, &mut p, 1, 2)?;
    let minute = if b.get(p) == Some(&b':') {
        p += 1;
        digits(b, &mut p, 2, 2)?
    } else {
        digits(b, &mut p, 2, 2)?
    };
    let mut second = 0;
    if b.get(p) == Some(&b':') {
        p += 1;
        second = digits(b, &mut p, 2, 2)?;
    }
    if matches!(b.get(p), Some(b'.' | b',')) {
        p += 1;
        digits(b, &mut p, 1, 9)?;
    }
    let time = NaiveTime::from_hms_opt(hour, minute, second.min(59))?;
    let local = date.and_time(time);
    skip_spaces(b, &mut p);
    let rest = b.get(p..)?;
    if rest.is_empty() {
        return Some(kyiv_to_utc(local));
    }
    let offset = parse_zone(rest)?;
    Some((local - Duration::seconds(i64::from(offset))).and_utc())
}

/// `Z`, `UTC`, `GMT`, `+03:00`, `+0300`, `+03`, `UTC+3`, and nothing after.
fn parse_zone(z: &[u8]) -> Option<i32> {
    let upper: Vec<u8> = z.iter().map(u8::to_ascii_uppercase).collect();
    let mut rest = &upper[..];
    for name in [&b"UTC"[..], b"GMT", b"Z", b"UT"] {
        if let Some(r) = rest.strip_prefix(name) {
            rest = r;
            break;
        }
    }
    if rest.is_empty() {
        return Some(0);
    }
    let sign = match rest[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let mut p = 1;
    let h = digits(rest, &mut p, 1, 2)?;
    if rest.get(p) == Some(&b':') {
        p += 1;
    }
    let m = if p < rest.len() {
        digits(rest, &mut p, 2, 2)?
    } else {
        0
    };
    if p != rest.len() || h > 14 || m > 59 {
        return None;
    }
    Some(sign * i32::try_from(h * 3600 + m * 60).ok()?)
}

fn digits(b: &[u8], p: &mut usize, min: usize, max: usize) -> Option<u32> {
    let start = *p;
    let mut v: u32 = 0;
    while *p < b.len() && *p - start < max && b[*p].is_ascii_digit() {
        v = v * 10 + u32::from(b[*p] - b'0');
        *p += 1;
    }
    (*p - start >= min).then_some(v)
}

fn skip_spaces(b: &[u8], p: &mut usize) {
    while b.get(*p).is_some_and(u8::is_ascii_whitespace) {
        *p += 1;
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Num,
    Word,
    Sym,
}

#[derive(Debug)]
struct Tok {
    kind: Kind,
    /// Lowercased text of a short word; empty for long words, which are never date words.
    lower: String,
    /// Value of a number (saturating), or the character of a symbol.
    value: u32,
    sym: char,
    digits: usize,
    line: u32,
    space_before: bool,
    start: usize,
}

impl Tok {
    fn is_sym(&self, c: char) -> bool {
        self.kind == Kind::Sym && self.sym == c
    }
    fn is_word(&self, w: &str) -> bool {
        self.kind == Kind::Word && self.lower == w
    }
}

fn tokenize(s: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut line = 0u32;
    let mut space_before = true;
    let mut it = s.char_indices().peekable();
    while let Some((start, c)) = it.next() {
        if c.is_whitespace() {
            if c == '\n' {
                line += 1;
            }
            space_before = true;
            continue;
        }
        let mut tok = Tok {
            kind: Kind::Sym,
            lower: String::new(),
            value: 0,
            sym: c,
            digits: 0,
            line,
            space_before,
            start,
        };
        if c.is_ascii_digit() {
            tok.kind = Kind::Num;
            let mut v = u32::from(c as u8 - b'0');
            let mut n = 1;
            while let Some(&(_, d)) = it.peek().filter(|(_, d)| d.is_ascii_digit()) {
                v = v
                    .saturating_mul(10)
                    .saturating_add(u32::from(d as u8 - b'0'));
                n += 1;
                it.next();
            }
            tok.value = v;
            tok.digits = n;
        } else if c.is_alphabetic() {
            tok.kind = Kind::Word;
            let mut end = start + c.len_utf8();
            while let Some(&(i, d)) = it.peek().filter(|(_, d)| d.is_alphabetic()) {
                end = i + d.len_utf8();
                it.next();
            }
            let word = &s[start..end];
            if word.len() <= 32 {
                tok.lower = word.to_lowercase();
            }
        }
        toks.push(tok);
        space_before = false;
    }
    toks
}

/// Lines whose dates are publication dates: those starting with a publication marker, and the
/// line right after a marker line that holds no date of its own ("Дата публікації:\n16.10.2018").
fn marker_lines(toks: &[Tok]) -> Vec<u32> {
    let mut lines = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let line = toks[i].line;
        let first_word = toks[i..]
            .iter()
            .take_while(|t| t.line == line)
            .take(3)
            .position(|t| t.kind == Kind::Word)
            .map(|k| i + k);
        if let Some(k) = first_word
            && is_marker(&toks[k], toks.get(k + 1))
        {
            lines.push(line);
            let has_digits = toks[k..]
                .iter()
                .take_while(|t| t.line == line)
                .any(|t| t.kind == Kind::Num);
            if !has_digits && let Some(next) = toks[k..].iter().find(|t| t.line > line) {
                lines.push(next.line);
            }
        }
        while i < toks.len() && toks[i].line == line {
            i += 1;
        }
    }
    lines
}

fn is_marker(t: &Tok, next: Option<&Tok>) -> bool {
    const MARKERS: [&str; 12] = [
        "опубліковано",
        "опубликовано",
        "опубл",
        "published",
        "posted",
        "публікація",
        "публикация",
        "додано",
        "добавлено",
        "размещено",
        "розміщено",
        "pubdate",
    ];
    if MARKERS.contains(&t.lower.as_str()) {
        return true;
    }
    if t.lower == "дата" || t.lower == "date" {
        return next.is_some_and(|n| {
            ["публ", "опубл", "вих", "выход", "созд", "ство", "publ"]
                .iter()
                .any(|p| n.lower.starts_with(p))
        });
    }
    false
}

/// A date found in the tokens.
#[derive(Debug)]
struct DateMatch {
    date: NaiveDate,
    time: Option<NaiveTime>,
    /// Explicit zone offset in seconds, when the text gives one.
    offset: Option<i32>,
    /// Index of the first token after the match.
    end: usize,
    /// A bare day and month, or a relative word without a time: used only when nothing better
    /// exists, because such words also occur in running text ("до 16 жовтня", "на сьогодні").
    weak: bool,
}

impl DateMatch {
    fn to_utc(&self) -> Option<DateTime<Utc>> {
        let local = self.date.and_time(self.time.unwrap_or(NaiveTime::MIN));
        Some(match self.offset {
            Some(off) => (local - Duration::seconds(i64::from(off))).and_utc(),
            None => kyiv_to_utc(local),
        })
    }
}

fn match_date_at(
    toks: &[Tok],
    i: usize,
    src: &str,
    now: Option<NaiveDateTime>,
) -> Option<DateMatch> {
    let t = &toks[i];
    match t.kind {
        Kind::Num if t.digits == 4 => match_iso(toks, i, src),
        Kind::Num if t.digits <= 2 => {
            match_numeric_dmy(toks, i).or_else(|| match_day_month(toks, i, now))
        }
        Kind::Word => {
            match_month_day(toks, i).or_else(|| now.and_then(|n| match_relative(toks, i, n)))
        }
        _ => None,
    }
}

/// `2018-10-16`, `2018-10-16T17:07:00+03:00`, `2018/10/16 17:07`.
fn match_iso(toks: &[Tok], i: usize, src: &str) -> Option<DateMatch> {
    let sep = toks.get(i + 1)?;
    if !(sep.is_sym('-') || sep.is_sym('/') || sep.is_sym('.')) || sep.space_before {
        return None;
    }
    let (m, sep2, d) = (toks.get(i + 2)?, toks.get(i + 3)?, toks.get(i + 4)?);
    if m.kind != Kind::Num
        || m.digits > 2
        || !sep2.is_sym(sep.sym)
        || d.kind != Kind::Num
        || d.digits > 2
    {
        return None;
    }
    if m.space_before || sep2.space_before || d.space_before {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(toks[i].value).ok()?, m.value, d.value)?;
    // A full machine timestamp inside the text ("2018-10-16T17:07:00+03:00") keeps its zone.
    let raw_end = src[toks[i].start..]
        .find(char::is_whitespace)
        .map_or(src.len(), |e| toks[i].start + e);
    let raw = src[toks[i].start..raw_end].trim_end_matches([',', ';', ')', '.', '"', '\'']);
    if raw.contains(['T', 't'])
        && let Some(dt) = parse_iso(raw.as_bytes())
    {
        let end = toks
            .iter()
            .skip(i)
            .position(|t| t.start >= raw_end)
            .map_or(toks.len(), |k| i + k);
        return Some(DateMatch {
            date: dt.date_naive(),
            time: Some(dt.time()),
            offset: Some(0),
            end,
            weak: false,
        });
    }
    Some(with_time(toks, i, i + 5, date, false))
}

/// `16.10.2018`, `16/10/2018`, `10/16/2018` (month first only when the day says so).
fn match_numeric_dmy(toks: &[Tok], i: usize) -> Option<DateMatch> {
    let sep = toks.get(i + 1)?;
    if !(sep.is_sym('.') || sep.is_sym('/')) || sep.space_before {
        return None;
    }
    let (m, sep2, y) = (toks.get(i + 2)?, toks.get(i + 3)?, toks.get(i + 4)?);
    if m.kind != Kind::Num
        || m.digits > 2
        || !sep2.is_sym(sep.sym)
        || y.kind != Kind::Num
        || y.digits != 4
    {
        return None;
    }
    if m.space_before || sep2.space_before || y.space_before {
        return None;
    }
    let (mut day, mut month) = (toks[i].value, m.value);
    if sep.sym == '/' && month > 12 && day <= 12 {
        std::mem::swap(&mut day, &mut month);
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(y.value).ok()?, month, day)?;
    Some(with_time(toks, i, i + 5, date, false))
}

/// `16 жовтня 2018 року о 17:07`, `16 октября 2018 г., 17:07`, `16th October 2018`,
/// `16 жовтня, 17:07` (year from `now`).
fn match_day_month(toks: &[Tok], i: usize, now: Option<NaiveDateTime>) -> Option<DateMatch> {
    let day = toks[i].value;
    if !(1..=31).contains(&day) {
        return None;
    }
    let mut j = i + 1;
    if toks.get(j).is_some_and(|t| {
        t.kind == Kind::Word
            && !t.space_before
            && ["st", "nd", "rd", "th", "го"].contains(&t.lower.as_str())
    }) {
        j += 1;
    } else if toks.get(j).is_some_and(|t| t.is_sym('-'))
        && toks.get(j + 1).is_some_and(|t| t.is_word("го"))
    {
        j += 2;
    }
    if toks.get(j).is_some_and(|t| t.is_word("of")) {
        j += 1;
    }
    let (month, full) = month_of(toks.get(j)?)?;
    let month_line = toks[j].line;
    j += 1;
    if toks.get(j).is_some_and(|t| t.is_sym('.')) {
        j += 1;
    }
    let mut k = j;
    if toks.get(k).is_some_and(|t| t.is_sym(',')) {
        k += 1;
    }
    if let Some(y) = toks
        .get(k)
        .filter(|t| t.kind == Kind::Num && t.digits == 4 && t.line == month_line)
    {
        let date = NaiveDate::from_ymd_opt(i32::try_from(y.value).ok()?, month, day)?;
        let mut end = k + 1;
        if toks.get(end).is_some_and(|t| is_year_word(&t.lower)) {
            end += 1;
            if toks.get(end).is_some_and(|t| t.is_sym('.')) {
                end += 1;
            }
        }
        return Some(with_time(toks, i, end, date, false));
    }
    if !full {
        return None;
    }
    let now = now?;
    let date = infer_year(now, month, day)?;
    Some(with_time(toks, i, j, date, true))
}

/// `October 16, 2018`, `Oct. 16th, 2018 at 5:07 pm`.
fn match_month_day(toks: &[Tok], i: usize) -> Option<DateMatch> {
    let (month, _) = month_of(&toks[i])?;
    let mut j = i + 1;
    if toks.get(j).is_some_and(|t| t.is_sym('.')) {
        j += 1;
    }
    let d = toks
        .get(j)
        .filter(|t| t.kind == Kind::Num && t.digits <= 2)?;
    j += 1;
    if toks.get(j).is_some_and(|t| {
        t.kind == Kind::Word
            && !t.space_before
            && ["st", "nd", "rd", "th"].contains(&t.lower.as_str())
    }) {
        j += 1;
    }
    if toks.get(j).is_some_and(|t| t.is_sym(',')) {
        j += 1;
    }
    let y = toks
        .get(j)
        .filter(|t| t.kind == Kind::Num && t.digits == 4)?;
    let date = NaiveDate::from_ymd_opt(i32::try_from(y.value).ok()?, month, d.value)?;
    Some(with_time(toks, i, j + 1, date, false))
}

/// `сьогодні о 17:07`, `вчера, 09:15`, `yesterday at 5:07 pm`, and the same without a time.
fn match_relative(toks: &[Tok], i: usize, now: NaiveDateTime) -> Option<DateMatch> {
    let back = match toks[i].lower.as_str() {
        "сьогодні" | "сегодня" | "today" => 0,
        "вчора" | "учора" | "вчера" | "yesterday" => 1,
        "позавчора" | "позавчера" => 2,
        _ => return None,
    };
    let date = now.date().checked_sub_signed(Duration::days(back))?;
    Some(with_time(toks, i, i + 1, date, true))
}

/// Completes a date with a time written after it (`о 17:07`, `, 17:07`, `at 5:07 pm`) or right
/// before it (`17:07, 16 жовтня 2018`). A time makes a weak date strong.
fn with_time(toks: &[Tok], start: usize, end: usize, date: NaiveDate, weak: bool) -> DateMatch {
    if let Some((time, offset, after)) = time_after(toks, end, date) {
        return DateMatch {
            date,
            time: Some(time),
            offset,
            end: after,
            weak: false,
        };
    }
    if let Some(time) = time_before(toks, start) {
        return DateMatch {
            date,
            time: Some(time),
            offset: None,
            end,
            weak: false,
        };
    }
    DateMatch {
        date,
        time: None,
        offset: None,
        end,
        weak,
    }
}

fn time_after(
    toks: &[Tok],
    mut j: usize,
    date: NaiveDate,
) -> Option<(NaiveTime, Option<i32>, usize)> {
    let line = toks.get(j.checked_sub(1)?)?.line;
    for _ in 0..5 {
        let t = toks.get(j)?;
        if t.line != line {
            return None;
        }
        if t.kind == Kind::Num {
            break;
        }
        let connector = match t.kind {
            Kind::Sym => ",.-–—|/(•·;".contains(t.sym),
            Kind::Word => [
                "о", "об", "в", "во", "at", "around", "року", "года", "г", "р", "рр", "year", "um",
            ]
            .contains(&t.lower.as_str()),
            Kind::Num => false,
        };
        if !connector {
            return None;
        }
        j += 1;
    }
    let (time, mut end) = parse_time(toks, j)?;
    let mut offset = None;
    if let Some(z) = toks
        .get(end)
        .filter(|t| t.kind == Kind::Word && t.line == line)
    {
        offset = zone_offset(&z.lower, date);
        if offset.is_some() {
            end += 1;
        }
    }
    Some((time, offset, end))
}

fn time_before(toks: &[Tok], start: usize) -> Option<NaiveTime> {
    let line = toks.get(start)?.line;
    let mut k = start.checked_sub(1)?;
    while toks[k].kind == Kind::Sym && ",|-–—•/".contains(toks[k].sym) && toks[k].line == line
    {
        k = k.checked_sub(1)?;
    }
    if toks[k].line != line || toks[k].kind != Kind::Num || toks[k].digits != 2 {
        return None;
    }
    let first = if k >= 4 && toks[k - 1].is_sym(':') && toks[k - 3].is_sym(':') {
        k - 4
    } else {
        k.checked_sub(2)?
    };
    let (time, end) = parse_time(toks, first)?;
    (end == k + 1).then_some(time)
}

/// `17:07`, `17:07:45`, `5:07 pm`, `5:07 p.m.`.
fn parse_time(toks: &[Tok], j: usize) -> Option<(NaiveTime, usize)> {
    let (h, colon, m) = (toks.get(j)?, toks.get(j + 1)?, toks.get(j + 2)?);
    if h.kind != Kind::Num || h.digits > 2 || !colon.is_sym(':') || colon.space_before {
        return None;
    }
    if m.kind != Kind::Num || m.digits != 2 || m.space_before {
        return None;
    }
    let mut end = j + 3;
    let mut second = 0;
    if let (Some(c), Some(s)) = (toks.get(end), toks.get(end + 1))
        && c.is_sym(':')
        && !c.space_before
        && s.kind == Kind::Num
        && s.digits == 2
    {
        second = s.value;
        end += 2;
    }
    let mut hour = h.value;
    let ampm = match toks.get(end).map(|t| t.lower.as_str()) {
        Some("am") => Some((false, 1)),
        Some("pm") => Some((true, 1)),
        Some(w @ ("a" | "p"))
            if toks.get(end + 1).is_some_and(|t| t.is_sym('.'))
                && toks.get(end + 2).is_some_and(|t| t.is_word("m")) =>
        {
            let skip = if toks.get(end + 3).is_some_and(|t| t.is_sym('.')) {
                4
            } else {
                3
            };
            Some((w == "p", skip))
        }
        _ => None,
    };
    if let Some((pm, skip)) = ampm {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour = match (pm, hour) {
            (false, 12) => 0,
            (true, 12) => 12,
            (true, h) => h + 12,
            (false, h) => h,
        };
        end += skip;
    }
    Some((NaiveTime::from_hms_opt(hour, m.value, second.min(59))?, end))
}

/// Zone abbreviations that news sites print after a time. US Eastern and Pacific "ET"/"PT" follow
/// the US summer-time months roughly: the exact switch days matter little for a publication date.
fn zone_offset(w: &str, date: NaiveDate) -> Option<i32> {
    let us_summer = (4..=10).contains(&date.month());
    Some(match w {
        "utc" | "gmt" | "z" => 0,
        "bst" | "cet" => HOUR,
        "cest" | "eet" => 2 * HOUR,
        "eest" | "msk" | "мск" => 3 * HOUR,
        "est" => -5 * HOUR,
        "edt" => -4 * HOUR,
        "et" => {
            if us_summer {
                -4 * HOUR
            } else {
                -5 * HOUR
            }
        }
        "cst" => -6 * HOUR,
        "cdt" => -5 * HOUR,
        "pst" => -8 * HOUR,
        "pdt" => -7 * HOUR,
        "pt" => {
            if us_summer {
                -7 * HOUR
            } else {
                -8 * HOUR
            }
        }
        _ => return None,
    })
}

fn is_year_word(w: &str) -> bool {
    matches!(
        w,
        "року" | "рік" | "году" | "года" | "год" | "г" | "р" | "рр" | "гг"
    )
}

/// The most recent such day that is not (more than a day) in the future.
fn infer_year(now: NaiveDateTime, month: u32, day: u32) -> Option<NaiveDate> {
    let year = now.year();
    let this = NaiveDate::from_ymd_opt(year, month, day);
    match this {
        Some(d) if d <= now.date() + Duration::days(1) => Some(d),
        _ => NaiveDate::from_ymd_opt(year - 1, month, day),
    }
}

/// Month number of a month word in any case form, and whether the word is a full name (an
/// abbreviation needs a year next to it to count as a date).
fn month_of(t: &Tok) -> Option<(u32, bool)> {
    if t.kind != Kind::Word {
        return None;
    }
    #[rustfmt::skip]
    const FULL: [(&str, u32); 84] = [
        ("січень", 1), ("січня", 1), ("січні", 1),
        ("лютий", 2), ("лютого", 2), ("лютому", 2),
        ("березень", 3), ("березня", 3), ("березні", 3),
        ("квітень", 4), ("квітня", 4), ("квітні", 4),
        ("травень", 5), ("травня", 5), ("травні", 5),
        ("червень", 6), ("червня", 6), ("червні", 6),
        ("липень", 7), ("липня", 7), ("липні", 7),
        ("серпень", 8), ("серпня", 8), ("серпні", 8),
        ("вересень", 9), ("вересня", 9), ("вересні", 9),
        ("жовтень", 10), ("жовтня", 10), ("жовтні", 10),
        ("листопад", 11), ("листопада", 11), ("листопаді", 11),
        ("грудень", 12), ("грудня", 12), ("грудні", 12),
        ("январь", 1), ("января", 1), ("январе", 1),
        ("февраль", 2), ("февраля", 2), ("феврале", 2),
        ("март", 3), ("марта", 3), ("марте", 3),
        ("апрель", 4), ("апреля", 4), ("апреле", 4),
        ("май", 5), ("мая", 5), ("мае", 5),
        ("июнь", 6), ("июня", 6), ("июне", 6),
        ("июль", 7), ("июля", 7), ("июле", 7),
        ("август", 8), ("августа", 8), ("августе", 8),
        ("сентябрь", 9), ("сентября", 9), ("сентябре", 9),
        ("октябрь", 10), ("октября", 10), ("октябре", 10),
        ("ноябрь", 11), ("ноября", 11), ("ноябре", 11),
        ("декабрь", 12), ("декабря", 12), ("декабре", 12),
        ("january", 1), ("february", 2), ("march", 3), ("april", 4), ("may", 5), ("june", 6),
        ("july", 7), ("august", 8), ("september", 9), ("october", 10), ("november", 11),
        ("december", 12),
    ];
    #[rustfmt::skip]
    const SHORT: [(&str, u32); 46] = [
        ("січ", 1), ("лют", 2), ("бер", 3), ("берез", 3), ("квіт", 4), ("кві", 4), ("трав", 5),
        ("тра", 5), ("черв", 6), ("чер", 6), ("лип", 7), ("серп", 8), ("сер", 8), ("вер", 9),
        ("верес", 9), ("жовт", 10), ("жов", 10), ("лист", 11), ("лис", 11), ("груд", 12),
        ("гру", 12), ("янв", 1), ("фев", 2), ("февр", 2), ("мар", 3), ("апр", 4), ("июн", 6),
        ("июл", 7), ("авг", 8), ("сен", 9), ("сент", 9), ("окт", 10), ("ноя", 11), ("нояб", 11),
        ("дек", 12), ("jan", 1), ("feb", 2), ("mar", 3), ("apr", 4), ("jun", 6), ("jul", 7),
        ("aug", 8), ("sep", 9), ("sept", 9), ("oct", 10), ("nov", 11),
    ];
    let w = t.lower.as_str();
    if let Some((_, m)) = FULL.iter().find(|(n, _)| *n == w) {
        return Some((*m, true));
    }
    if w == "dec" {
        return Some((12, false));
    }
    SHORT
        .iter()
        .find(|(n, _)| *n == w)
        .map(|(_, m)| (*m, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn now() -> DateTime<Utc> {
        utc(2024, 3, 15, 12, 0)
    }

    #[test]
    fn kyiv_offsets_follow_the_eu_rule() {
        assert_eq!(kyiv_offset_seconds(utc(2018, 10, 16, 12, 0)), 3 * HOUR);
        assert_eq!(kyiv_offset_seconds(utc(2018, 12, 1, 12, 0)), 2 * HOUR);
        // 2024: summer time from 31 March 01:00 UTC to 27 October 01:00 UTC.
        assert_eq!(kyiv_offset_seconds(utc(2024, 3, 31, 0, 59)), 2 * HOUR);
        assert_eq!(kyiv_offset_seconds(utc(2024, 3, 31, 1, 0)), 3 * HOUR);
        assert_eq!(kyiv_offset_seconds(utc(2024, 10, 27, 0, 59)), 3 * HOUR);
        assert_eq!(kyiv_offset_seconds(utc(2024, 10, 27, 1, 0)), 2 * HOUR);
        let local = NaiveDate::from_ymd_opt(2024, 7, 1)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        assert_eq!(kyiv_to_utc(local), utc(2024, 7, 1, 9, 0));
        assert_eq!(utc_to_kyiv(utc(2024, 7, 1, 9, 0)), local);
    }

    #[test]
    fn machine_formats() {
        let want = utc(2018, 10, 16, 14, 7);
        for s in [
            "2018-10-16T17:07:00+03:00",
            "2018-10-16T14:07:00Z",
            "2018-10-16T14:07Z",
            "2018-10-16T17:07:00.123+0300",
            "2018-10-16T17:07",
            "2018-10-16 17:07",
            "2018-10-16 17:07:00",
            "2018-10-16T14:07:00 UTC",
            "2018/10/16 17:07",
            "Tue, 16 Oct 2018 17:07:00 +0300",
            "Tue, 16 Oct 2018 14:07:00 GMT",
            "Tue, 16 Oct 2018 17:07:00 EEST",
            "16.10.2018 17:07",
            "1539698820",
            "1539698820000",
            " 2018-10-16T17:07:00+03:00 ",
        ] {
            assert_eq!(parse_datetime(s), Some(want), "{s}");
        }
        assert_eq!(parse_datetime("2018-10-16"), Some(utc(2018, 10, 15, 21, 0)));
        assert_eq!(parse_datetime("20181016"), Some(utc(2018, 10, 15, 21, 0)));
        for bad in [
            "",
            "yesterday",
            "2018-13-01",
            "2018-02-30T10:00",
            "abc 12",
            "99999999999999999999",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn bare_date_lines() {
        for s in [
            "Вторник, 16 октября 2018, 17:07",
            "Вівторок, 16 жовтня 2018 року о 17:07",
            "Tuesday, October 16, 2018, 5:07 PM",
            "17:07 | 16.10.2018",
            "16.10.2018, 17:07",
            "2018-10-16",
        ] {
            assert!(is_bare_date(s), "{s}");
        }
        for s in [
            "The dam was built on 16 October 1998.",
            "16 жовтня",
            "Новини за 16 жовтня 2018",
            "Related story 12.03.2017, 10:00",
            "no date here",
        ] {
            assert!(!is_bare_date(s), "{s}");
        }
    }

    #[test]
    fn prose_dates() {
        let want = utc(2018, 10, 16, 14, 7);
        for s in [
            "Опубліковано 16 жовтня 2018 року о 17:07",
            "16 октября 2018, 17:07",
            "16 октября 2018 г. в 17:07",
            "16 жовтня 2018 р., 17:07",
            "17:07, 16 жовтня 2018",
            "17:07 | 16.10.2018",
            "16.10.2018 17:07",
            "16.10.2018 о 17:07",
            "October 16, 2018 at 5:07 pm",
            "Oct. 16, 2018, 5:07 p.m.",
            "16th October 2018 17:07",
            "Published: 2018-10-16 17:07",
            "Tuesday, October 16, 2018 2:07 PM GMT",
            "2018-10-16T17:07:00+03:00",
        ] {
            assert_eq!(find_date_in_text(s, now()), Some(want), "{s}");
        }
        let midnight = utc(2018, 10, 15, 21, 0);
        for s in [
            "October 16, 2018",
            "16 жовтня 2018",
            "16 ОКТЯБРЯ 2018 ГОДА",
            "2018-10-16",
            "16 Oct 2018",
        ] {
            assert_eq!(find_date_in_text(s, now()), Some(midnight), "{s}");
        }
        for month in [
            "січня",
            "лютого",
            "березня",
            "квітня",
            "травня",
            "червня",
            "липня",
            "серпня",
        ] {
            assert!(
                find_date_in_text(&format!("5 {month} 2020"), now()).is_some(),
                "{month}"
            );
        }
    }

    #[test]
    fn relative_dates() {
        // 15 March 2024 12:00 UTC is 14:00 in Kyiv (winter time).
        assert_eq!(
            find_date_in_text("вчора о 09:15", now()),
            Some(utc(2024, 3, 14, 7, 15))
        );
        assert_eq!(
            find_date_in_text("Вчера, 09:15", now()),
            Some(utc(2024, 3, 14, 7, 15))
        );
        assert_eq!(
            find_date_in_text("Сьогодні о 13:00", now()),
            Some(utc(2024, 3, 15, 11, 0))
        );
        assert_eq!(
            find_date_in_text("yesterday at 9:15 am", now()),
            Some(utc(2024, 3, 14, 7, 15))
        );
        assert_eq!(
            find_date_in_text("today", now()),
            Some(utc(2024, 3, 14, 22, 0))
        );
        // Without a year: the most recent such day.
        assert_eq!(
            find_date_in_text("14 березня о 10:00", now()),
            Some(utc(2024, 3, 14, 8, 0))
        );
        assert_eq!(
            find_date_in_text("16 октября, 17:07", now()),
            Some(utc(2023, 10, 16, 14, 7))
        );
    }

    #[test]
    fn marker_line_wins_and_weak_dates_wait() {
        let text =
            "Заголовок про події 1 травня 2017 року\nОпубліковано 16 жовтня 2018 року о 17:07\n";
        assert_eq!(
            find_date_in_text(text, now()),
            Some(utc(2018, 10, 16, 14, 7))
        );
        let text = "Дата публікації новини:\n16.10.2018 17:07";
        assert_eq!(
            find_date_in_text(text, now()),
            Some(utc(2018, 10, 16, 14, 7))
        );
        let text = "є на сьогодні спільним викликом, до 3 травня.\nОновлено 16.10.2018";
        assert_eq!(
            find_date_in_text(text, now()),
            Some(utc(2018, 10, 15, 21, 0))
        );
    }

    #[test]
    fn implausible_dates_are_rejected() {
        assert_eq!(find_date_in_text("16 жовтня 1890 року", now()), None);
        assert_eq!(find_date_in_text("16 жовтня 2030 року", now()), None);
        assert_eq!(find_date_in_text("у травні 2019 року", now()), None);
        assert_eq!(find_date_in_text("31.02.2018", now()), None);
        assert_eq!(find_date_in_text("version 1.2.20181 build", now()), None);
        assert_eq!(find_date_in_text("May we all 16 lies", now()), None);
        assert_eq!(find_date_in_text("лист 5 сер", now()), None);
        assert_eq!(find_date_in_text("", now()), None);
        assert!(find_date_in_text("16 жовтня 2025 року", now()).is_some());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = parse_datetime(&s);
            let _ = find_date_in_text(&s, now());
        }

        #[test]
        fn never_panics_on_date_like(s in "[0-9 .:/,T+\\-Zамжовтняроку]{0,40}") {
            let _ = parse_datetime(&s);
            let _ = find_date_in_text(&s, now());
        }
    }
}
