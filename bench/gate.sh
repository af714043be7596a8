#!/usr/bin/env bash
# What the lexical embed gate of `detect claims` costs and saves. The claims database is the
# evaluation set's 66 claims among 10,000 generated ones (bench/gen_claims.py); the queries are the
# evaluation set's repeats and hard negatives (dev + test: paraphrases and translations, uk/ru/en)
# and 5,000 generated posts (one in 50 a light edit of a generated claim, the rest unrelated).
# `varta claims eval --details` records each query's best lexical share (what the gate reads) and
# its rank; bench/gate.py prints, per gate, the evaluation repeats the gate would skip, recall@5
# with the gate, and the share of unrelated posts that would still be embedded.
#
# usage: bash bench/gate.sh [POSTS] [CLAIMS]   (defaults: 5000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
POSTS=${1:-5000}
CLAIMS=${2:-10000}
W=/tmp/varta-bench/gate
rm -rf "$W" && mkdir -p "$W"
cargo build --release --locked -q -p varta-cli
V=$PWD/target/release/varta
D=crates/varta-cli/tests/data/claims
python3 bench/gen_claims.py --messages ../shared/eval/coord/dev-20k.csv --claims "$CLAIMS" --posts "$POSTS" \
  --out-claims "$W/bench-claims.json" --out-posts "$W/posts.jsonl"
python3 - "$W" "$D" <<'PY'
import json, sys
w, d = sys.argv[1], sys.argv[2]
claims = json.load(open(f"{d}/claims.json")) + json.load(open(f"{w}/bench-claims.json"))
json.dump(claims, open(f"{w}/claims.json", "w"), ensure_ascii=False)
with open(f"{w}/queries.jsonl", "w") as o:
    for part in ("dev", "test"):
        for line in open(f"{d}/{part}.jsonl"):
            o.write(line if line.endswith("\n") else line + "\n")
    for line in open(f"{w}/posts.jsonl"):
        p = json.loads(line)
        o.write(json.dumps({"text": p["text"], "lang": "bench", "claim_url": p["claim_url"]},
                           ensure_ascii=False) + "\n")
PY
"$V" --data-dir "$W/store" claims eval --claims "$W/claims.json" --queries "$W/queries.jsonl" \
  --details "$W/details.jsonl" --json > "$W/eval.json"
python3 bench/gate.py "$W/details.jsonl"
