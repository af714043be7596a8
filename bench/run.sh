#!/usr/bin/env bash
# The ingest and search benchmarks on generated inputs:
#   - ingest throughput with indexing, posts/s, for cnt-csv, x-jsonl and telegram (target >= 20,000)
#   - peak memory of each 1M-post ingest (target <= 1 GB)
#   - HTML pages/s with extraction (target >= 300)
#   - median latency of 100 varied queries over the 1M cnt-csv posts (target <= 50 ms)
# Usage: bash bench/run.sh [POSTS]     (default 1000000; inputs and stores go to $BENCH_DIR, default
# /tmp/varta-bench, about 2.2 GB of inputs and 1.5 GB of stores per million posts)
# Times on shared machines are noisy: run it twice and read the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
POSTS="${1:-1000000}"
DIR="${BENCH_DIR:-/tmp/varta-bench}"
DATA="$DIR/inputs-$POSTS"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }

cargo build --release -q -p varta-cli
VARTA="$PWD/target/release/varta"
if [[ ! -f "$DATA/.done" ]]; then
  python3 bench/gen_posts.py --out "$DATA" --posts "$POSTS"
  touch "$DATA/.done"
fi

results="$DIR/results-$POSTS.jsonl"
: > "$results"
run_ingest() { # name input
  local name=$1 input=$2 store="$DIR/store-$1-$POSTS"
  rm -rf "$store"
  /usr/bin/time -f "%e %M" -o "$DIR/time.txt" "$VARTA" --data-dir "$store" ingest "$input" --json > "$DIR/out.json"
  read -r secs kb < "$DIR/time.txt"
  python3 - "$name" "$secs" "$kb" "$DIR/out.json" >> "$results" <<'PY'
import json, sys
name, secs, kb, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = json.loads(open(out).read().strip().splitlines()[-1])
n = s["ingested"] + s["duplicates"]
print(json.dumps({"bench": "ingest", "input": name, "records": n, "failed": s["failed"],
                  "seconds": secs, "per_second": round(n / secs), "peak_rss_mb": round(kb / 1024)}))
PY
  tail -n 1 "$results"
}

run_ingest cnt-csv "$DATA/posts.cnt.csv"
run_ingest x-jsonl "$DATA/posts.x.jsonl"
run_ingest telegram "$DATA/telegram/result.json"
run_ingest html-pages "$DATA/pages"

"$VARTA" --data-dir "$DIR/store-cnt-csv-$POSTS" bench-search bench/queries.txt --rounds 3 \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); r["bench"]="search"; print(json.dumps(r))' >> "$results"
tail -n 1 "$results"
echo "results: $results"
