#!/usr/bin/env bash
# The side-by-side benchmark: `varta dedup` against datasketch (../shared/peers/minhash_peer.py),
# in one run, one table.
#
#   - corpus: bench/gen_dedup.py over the messages of ../shared/eval/coord/dev-20k.csv (posts of 20-200
#     words from a bigram chain, 30% of them mutated copies: case, look-alike letters, punctuation and
#     emoji, hashtags and URLs, sentence reordering, truncation to half, word edits)
#   - correctness on a 20,000-post sample against the exact truth (every pair with word-3-gram Jaccard
#     >= 0.5 over Varta's normalized shingles, by `varta dedup --exact`: all pairs sharing a shingle
#     counted). datasketch is scored against the same truth and against the truth over its own
#     tokenization (lower-cased \w+ words, computed here in Python), so that normalization and LSH
#     are told apart. Targets: recall >= 0.98, precision >= 0.99, both >= datasketch's.
#   - signature speed on 100,000 posts: datasketch's shingling + MinHash.bulk docs/s (one core, as
#     the peer runs) against Varta's shingling + signing docs/s (texts already parsed; both cores).
#     Target: >= 30x.
#   - scale: `varta dedup` end to end on 1,000,000 posts: wall time and peak RSS. Targets: <= 60 s,
#     <= 2 GB.
#
# Usage: bash bench/dedup.sh      (inputs in $BENCH_DIR/dedup, default /tmp/varta-bench/dedup, ~1.6 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${VARTA_SHARED:-$PWD/../shared}"
DIR="${BENCH_DIR:-/tmp/varta-bench}"
OUT="$DIR/dedup"
[[ -f $SHARED/DESIGN.md ]] || { echo "needs ../shared (or VARTA_SHARED)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }
mkdir -p "$OUT"
PY=$(PEERS_VENV="${PEERS_VENV:-$DIR/peers-venv}" bash "$SHARED/peers/setup.sh" | tail -n 1)
cargo build --release -q -p varta-cli
VARTA="$PWD/target/release/varta"
MSG="$SHARED/eval/coord/dev-20k.csv"
for n in 20000 100000 1000000; do
  [[ -f $OUT/docs-$n.jsonl ]] || python3 bench/gen_dedup.py --messages "$MSG" --out "$OUT/docs-$n.jsonl" --docs "$n"
done

"$VARTA" dedup "$OUT/docs-20000.jsonl" --pairs "$OUT/varta-20k.csv" --json > "$OUT/varta-20k.json"
"$VARTA" dedup "$OUT/docs-20000.jsonl" --pairs "$OUT/truth-20k.csv" --json --exact > /dev/null
"$PY" "$SHARED/peers/minhash_peer.py" "$OUT/docs-20000.jsonl" "$OUT/peer-20k.csv" > "$OUT/peer-20k.json"
"$VARTA" dedup "$OUT/docs-100000.jsonl" --pairs "$OUT/varta-100k.csv" --json > "$OUT/varta-100k.json"
"$PY" "$SHARED/peers/minhash_peer.py" "$OUT/docs-100000.jsonl" "$OUT/peer-100k.csv" > "$OUT/peer-100k.json"
/usr/bin/time -f "%e %M" -o "$OUT/time-1m.txt" "$VARTA" dedup "$OUT/docs-1000000.jsonl" --pairs "$OUT/varta-1m.csv" --json > "$OUT/varta-1m.json"

python3 - "$OUT" <<'PY'
import collections, csv, itertools, json, re, sys
out = sys.argv[1]
load = lambda p: {(r[0], r[1]) for r in csv.reader(open(p)) if r and r[0] != "id_a"}
truth, ours, peer = load(f"{out}/truth-20k.csv"), load(f"{out}/varta-20k.csv"), load(f"{out}/peer-20k.csv")

# The truth over datasketch's own shingles (minhash_peer.py's tokenization), by an inverted index.
docs = [json.loads(l) for l in open(f"{out}/docs-20000.jsonl", encoding="utf-8")]
def sh(t):
    w = re.findall(r"\w+", t.lower()); return {" ".join(w[i:i + 3]) for i in range(max(1, len(w) - 2))}
sets = [sh(d["text"]) for d in docs]
ids = [str(d["id"]) for d in docs]
post = collections.defaultdict(list)
for i, s in enumerate(sets):
    for x in s: post[x].append(i)
common = collections.Counter()
for lst in post.values():
    for a, b in itertools.combinations(lst, 2): common[(a, b)] += 1
peer_truth = set()
for (a, b), c in common.items():
    if c / (len(sets[a]) + len(sets[b]) - c) >= 0.5: peer_truth.add(tuple(sorted((ids[a], ids[b]))))

def score(found, t):
    tp = len(found & t); return tp / max(1, len(t)), tp / max(1, len(found))
v20, p20 = json.load(open(f"{out}/varta-20k.json")), json.loads(open(f"{out}/peer-20k.json").read().strip().splitlines()[-1])
v100, p100 = json.load(open(f"{out}/varta-100k.json")), json.loads(open(f"{out}/peer-100k.json").read().strip().splitlines()[-1])
v1m = json.load(open(f"{out}/varta-1m.json"))
secs, kb = open(f"{out}/time-1m.txt").read().split()
r_o, p_o = score(ours, truth); r_p, p_p = score(peer, truth); r_pp, p_pp = score(peer, peer_truth)
ratio = v100["signature_docs_per_s"] / p100["signature_docs_per_s"]
print(f"20,000 posts: {len(truth):,} true pairs (Varta's shingles), {len(peer_truth):,} (datasketch's)")
print("| tool | recall | precision | signatures, docs/s (100k posts) | ratio | 1M posts end to end | peak RSS |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
print(f"| datasketch 2.0 (vs Varta's truth) | {r_p:.4f} | {p_p:.4f} | {p100['signature_docs_per_s']:,} | 1.0x | not run | |")
print(f"| datasketch 2.0 (vs its own truth) | {r_pp:.4f} | {p_pp:.4f} | | | | |")
print(f"| varta dedup | {r_o:.4f} | {p_o:.4f} | {v100['signature_docs_per_s']:,} | {ratio:.1f}x | {float(secs):.1f} s, {v1m['pairs']:,} pairs | {int(kb) / 1024:.0f} MB |")
checks = {
    "recall >= 0.98 and >= datasketch's": r_o >= 0.98 and r_o >= max(r_p, r_pp),
    "precision >= 0.99 and >= datasketch's": p_o >= 0.99 and p_o >= max(p_p, p_pp),
    "signatures >= 30x datasketch": ratio >= 30,
    "1M posts <= 60 s": float(secs) <= 60,
    "peak memory <= 2 GB": int(kb) <= 2 * 1024 * 1024,
}
for k, ok in checks.items(): print(f"{'met' if ok else 'NOT met'}: {k}")
sys.exit(0 if all(checks.values()) else 1)
PY
