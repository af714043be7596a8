//! Embeds stdin lines with the model named by argv[1] ("query" or "passage" in argv[2]) and
//! writes the vectors as little-endian f32 to stdout; the time goes to stderr. For comparing
//! with the reference engine by hand; `varta embed` is the user's command.

use std::io::{BufRead, Write};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), kind) = (args.next(), args.next()) else {
        eprintln!("usage: embed_lines MODEL [query|passage] < lines");
        std::process::exit(2);
    };
    let kind = if kind.as_deref() == Some("passage") {
        varta_embed::Kind::Passage
    } else {
        varta_embed::Kind::Query
    };
    let t = std::time::Instant::now();
    let model = match varta_embed::Model::load(std::path::Path::new(&path)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    eprintln!(
        "loaded in {:.2} s ({:?})",
        t.elapsed().as_secs_f64(),
        model.isa()
    );
    let lines: Vec<String> = std::io::stdin()
        .lock()
        .lines()
        .map_while(Result::ok)
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let t = std::time::Instant::now();
    let v = model.embed(&refs, kind);
    let s = t.elapsed().as_secs_f64();
    eprintln!(
        "{} texts in {s:.3} s: {:.1} texts/s",
        lines.len(),
        lines.len() as f64 / s
    );
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for x in v.iter().flatten() {
        let _ = out.write_all(&x.to_le_bytes());
    }
}
