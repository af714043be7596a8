#!/usr/bin/env bash
# Claim matching in a database of real size: the 10,892 EUvsDisinfo cases of
# ../shared/eval/claims/euvsdisinfo_cases.csv, against the repeats and same-topic non-repeats of
# bench/claims-euvs/queries.jsonl (80 cases; uk, ru and en), split by case into tune and held-out.
# A repeat counts as found when the case ranked first is its case or one that states the same claim
# (bench/claims-euvs/equivalents.json, judged by hand).
#
# usage: bash bench/claims_euvs.sh [--lexical-only | --model FILE]   (default: the installed e5 model)
set -euo pipefail
cd "$(dirname "$0")/.."
W=/tmp/varta-bench/claims-euvs
rm -rf "$W" && mkdir -p "$W"
cargo build --release --locked -q -p varta-cli
V=$PWD/target/release/varta
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
eq = json.load(open("bench/claims-euvs/equivalents.json", encoding="utf-8"))
out = {s: open(f"{w}/{s}.jsonl", "w", encoding="utf-8") for s in ("tune", "held")}
for line in open("bench/claims-euvs/queries.jsonl", encoding="utf-8"):
    q = json.loads(line)
    rec = {"text": q["text"], "lang": q["lang"], "claim_url": q["claim_url"],
           "also": eq.get(q["claim_url"], []) if q["claim_url"] else []}
    out[q["split"]].write(json.dumps(rec, ensure_ascii=False) + "\n")
PY
for s in tune held; do
  echo "## $s"
  "$V" --data-dir "$W/store" claims eval --claims ../shared/eval/claims/euvsdisinfo_cases.csv \
    --queries "$W/$s.jsonl" --details "$W/$s.details.jsonl" "$@" 2>/dev/null
done
