#!/usr/bin/env bash
# The side-by-side benchmark: main-text extraction against trafilatura (and readability), and
# language identification against lingua, on ../shared/eval, in one run, one table.
#
#   - extraction: the 181 pages of ../shared/eval/extraction, scored by ../shared/peers/score_extraction.py
#     (bag-of-words F1, macro-averaged). Speed is pages/s on ONE thread over pages held in memory, for
#     the peers as ../shared/peers/extract_peer.py times them and for Varta by `varta bench-extract`
#     (decoding, extraction, metadata, language id; lingua's models are loaded before the clock, once
#     per process). Targets: F1 >= 0.96 and above trafilatura; >= 20x trafilatura's pages/s.
#   - language id: ../shared/eval/lid/dev.tsv, lingua (six languages, ../shared/peers/lid_peer.py)
#     against `varta lang --tsv` (ten languages; the clock includes lingua's lazy model loading).
#     Targets: accuracy >= 0.99; >= 10x lingua's texts/s.
#
# Usage: bash bench/text.sh [ROUNDS]    (ROUNDS, default 3: each speed is the median of ROUNDS runs)
# The peers are installed by ../shared/peers/setup.sh into $PEERS_VENV (default
# $BENCH_DIR/peers-venv, $BENCH_DIR defaulting to /tmp/varta-bench). Needs network for pip once.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
SHARED="${VARTA_SHARED:-$PWD/../shared}"
DIR="${BENCH_DIR:-/tmp/varta-bench}"
[[ -f $SHARED/DESIGN.md ]] || { echo "needs ../shared (or VARTA_SHARED)" >&2; exit 1; }
mkdir -p "$DIR/text"
OUT="$DIR/text"
PAGES="$SHARED/eval/extraction/aeb-html"
GOLD="$SHARED/eval/extraction/ground-truth.json"
LID="$SHARED/eval/lid/dev.tsv"

PY=$(PEERS_VENV="${PEERS_VENV:-$DIR/peers-venv}" bash "$SHARED/peers/setup.sh" | tail -n 1)
cargo build --release -q -p varta-cli
VARTA="$PWD/target/release/varta"

# One thread for every tool: the targets compare single-thread speed.
export RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

: > "$OUT/runs.jsonl"
for r in $(seq "$ROUNDS"); do
  for peer in trafilatura readability; do
    "$PY" "$SHARED/peers/extract_peer.py" "$peer" "$PAGES" "$OUT/$peer.jsonl" 2> "$OUT/$peer.err"
    speed=$(tail -n 1 "$OUT/$peer.err")
    score=$("$PY" "$SHARED/peers/score_extraction.py" "$GOLD" "$OUT/$peer.jsonl")
    echo "{\"task\": \"extraction\", \"tool\": \"$peer\", \"speed\": $speed, \"score\": $score}" >> "$OUT/runs.jsonl"
  done
  speed=$("$VARTA" bench-extract "$PAGES" --out "$OUT/varta.jsonl")
  score=$("$PY" "$SHARED/peers/score_extraction.py" "$GOLD" "$OUT/varta.jsonl")
  echo "{\"task\": \"extraction\", \"tool\": \"varta\", \"speed\": $speed, \"score\": $score}" >> "$OUT/runs.jsonl"

  speed=$("$PY" "$SHARED/peers/lid_peer.py" "$LID")
  echo "{\"task\": \"language id\", \"tool\": \"lingua\", \"speed\": $speed, \"score\": $speed}" >> "$OUT/runs.jsonl"
  speed=$("$VARTA" lang --tsv "$LID")
  echo "{\"task\": \"language id\", \"tool\": \"varta\", \"speed\": $speed, \"score\": $speed}" >> "$OUT/runs.jsonl"
done

python3 - "$OUT/runs.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
rows = {}
for r in runs:
    key = (r["task"], r["tool"])
    speed = r["speed"].get("pages_per_s", r["speed"].get("texts_per_s"))
    quality = r["score"].get("f1", r["score"].get("accuracy"))
    rows.setdefault(key, {"speeds": [], "quality": quality})["speeds"].append(speed)
base = {"extraction": "trafilatura", "language id": "lingua"}
unit = {"extraction": "pages/s", "language id": "texts/s"}
metric = {"extraction": "F1", "language id": "accuracy"}
print(f"| task | tool | {'F1 / accuracy':>13} | {'speed (median)':>16} | runs | ratio to peer |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
for (task, tool), v in rows.items():
    med = statistics.median(v["speeds"])
    ref = statistics.median(rows[(task, base[task])]["speeds"])
    print(f"| {task} | {tool} | {metric[task]} {v['quality']:.4f} | {med:,.0f} {unit[task]} | "
          f"{len(v['speeds'])} | {med / ref:.1f}x |")
ok = True
f1 = rows[("extraction", "varta")]["quality"]
ok &= f1 >= 0.96 and f1 > rows[("extraction", "trafilatura")]["quality"]
ok &= statistics.median(rows[("extraction", "varta")]["speeds"]) >= 20 * statistics.median(rows[("extraction", "trafilatura")]["speeds"])
ok &= rows[("language id", "varta")]["quality"] >= 0.99
ok &= statistics.median(rows[("language id", "varta")]["speeds"]) >= 10 * statistics.median(rows[("language id", "lingua")]["speeds"])
print("\ntargets (F1 >= 0.96 and > trafilatura, >= 20x its pages/s; accuracy >= 0.99, >= 10x lingua's texts/s):",
      "met" if ok else "NOT met")
sys.exit(0 if ok else 1)
PY
