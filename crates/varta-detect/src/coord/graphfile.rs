//! GEXF 1.3 and GraphML files of a network, for Gephi and other graph tools.
//!
//! Actor names come from the input and may be hostile: every string is XML-escaped, and characters
//! XML 1.0 cannot carry at all (control characters) become U+FFFD, so the file always parses.

use std::io::{self, Write};

/// A node: its label and the groups it belongs to, numbered from 1 (empty: none).
pub struct Node<'a> {
    pub label: &'a str,
    pub groups: Vec<usize>,
}

/// An edge between node indices.
pub struct GraphEdge {
    pub source: usize,
    pub target: usize,
    pub weight: f64,
    /// CooRTweet's edge symmetry, when known.
    pub symmetry: Option<f64>,
}

/// Escapes text for XML attribute values and content.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn group_attr(groups: &[usize]) -> (i64, String) {
    let first = groups.first().map_or(0, |&g| g as i64);
    let all = groups
        .iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join(",");
    (first, all)
}

/// Writes GEXF 1.3: node attributes `group` (the first group; groups are numbered from 1, 0 is none) and `groups` (all, comma
/// separated); edge weight and `symmetry`.
pub fn write_gexf(
    w: &mut impl Write,
    nodes: &[Node<'_>],
    edges: &[GraphEdge],
    directed: bool,
) -> io::Result<()> {
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<gexf xmlns="http://gexf.net/1.3" version="1.3"><meta><creator>Varta</creator></meta>"#
    )?;
    writeln!(
        w,
        r#"<graph mode="static" defaultedgetype="{}">"#,
        if directed { "directed" } else { "undirected" }
    )?;
    writeln!(
        w,
        r#"<attributes class="node"><attribute id="0" title="group" type="integer"/><attribute id="1" title="groups" type="string"/></attributes>"#
    )?;
    writeln!(
        w,
        r#"<attributes class="edge"><attribute id="0" title="symmetry" type="double"/></attributes>"#
    )?;
    writeln!(w, "<nodes>")?;
    for (i, n) in nodes.iter().enumerate() {
        let (first, all) = group_attr(&n.groups);
        writeln!(
            w,
            r#"<node id="{i}" label="{}"><attvalues><attvalue for="0" value="{first}"/><attvalue for="1" value="{all}"/></attvalues></node>"#,
            xml_escape(n.label)
        )?;
    }
    writeln!(w, "</nodes>\n<edges>")?;
    for (i, e) in edges.iter().enumerate() {
        write!(
            w,
            r#"<edge id="{i}" source="{}" target="{}" weight="{}""#,
            e.source, e.target, e.weight
        )?;
        match e.symmetry {
            Some(s) => writeln!(
                w,
                r#"><attvalues><attvalue for="0" value="{s}"/></attvalues></edge>"#
            )?,
            None => writeln!(w, "/>")?,
        }
    }
    writeln!(w, "</edges>\n</graph>\n</gexf>")
}

/// Writes GraphML with the same attributes as [`write_gexf`].
pub fn write_graphml(
    w: &mut impl Write,
    nodes: &[Node<'_>],
    edges: &[GraphEdge],
    directed: bool,
) -> io::Result<()> {
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns">"#
    )?;
    writeln!(
        w,
        r#"<key id="label" for="node" attr.name="label" attr.type="string"/>"#
    )?;
    writeln!(
        w,
        r#"<key id="group" for="node" attr.name="group" attr.type="int"/>"#
    )?;
    writeln!(
        w,
        r#"<key id="groups" for="node" attr.name="groups" attr.type="string"/>"#
    )?;
    writeln!(
        w,
        r#"<key id="weight" for="edge" attr.name="weight" attr.type="double"/>"#
    )?;
    writeln!(
        w,
        r#"<key id="symmetry" for="edge" attr.name="symmetry" attr.type="double"/>"#
    )?;
    writeln!(
        w,
        r#"<graph id="varta" edgedefault="{}">"#,
        if directed { "directed" } else { "undirected" }
    )?;
    for (i, n) in nodes.iter().enumerate() {
        let (first, all) = group_attr(&n.groups);
        writeln!(
            w,
            r#"<node id="n{i}"><data key="label">{}</data><data key="group">{first}</data><data key="groups">{all}</data></node>"#,
            xml_escape(n.label)
        )?;
    }
    for e in edges {
        write!(
            w,
            r#"<edge source="n{}" target="n{}"><data key="weight">{}</data>"#,
            e.source, e.target, e.weight
        )?;
        if let Some(s) = e.symmetry {
            write!(w, r#"<data key="symmetry">{s}</data>"#)?;
        }
        writeln!(w, "</edge>")?;
    }
    writeln!(w, "</graph>\n</graphml>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_labels_are_escaped() {
        let nodes = [
            Node {
                label: "<script>alert(1)</script>&\"'\u{1}",
                groups: vec![1, 3],
            },
            Node {
                label: "b",
                groups: vec![],
            },
        ];
        let edges = [GraphEdge {
            source: 0,
            target: 1,
            weight: 2.5,
            symmetry: Some(1.0),
        }];
        let mut g = Vec::new();
        write_gexf(&mut g, &nodes, &edges, false).unwrap();
        let g = String::from_utf8(g).unwrap();
        assert!(
            g.contains("label=\"&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&apos;\u{FFFD}\"")
        );
        assert!(!g.contains("<script>"));
        let mut m = Vec::new();
        write_graphml(&mut m, &nodes, &edges, false).unwrap();
        let m = String::from_utf8(m).unwrap();
        assert!(m.contains("<data key=\"groups\">1,3</data>"));
        assert!(!m.contains("<script>"));
    }
}
