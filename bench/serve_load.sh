#!/usr/bin/env bash
# `varta serve` under load from a second process on loopback (wrk), over a copy of the 1M-post
# bench store (cnt-csv, from bench/run.sh) with its campaigns detected:
#   1. search, 50 concurrent clients, 30 s, the 100 queries of bench/queries.txt in turn
#      (target >= 500 requests/s, p99 <= 100 ms);
#   2. TAXII pages of 1,000 objects, 4 clients, 20 s (target p99 <= 200 ms);
#   3. an upload of 100,000 new posts (one cnt-csv body) while 20 clients search (targets: every
#      post stored, `varta check` ok after, search p99 <= 250 ms during the upload);
#   4. the server's peak memory through all of it (VmHWM; target <= 1 GB).
# Usage: bash bench/serve_load.sh [STORE]
#   STORE defaults to $BENCH_DIR/store-cnt-csv-1000000 (made by `bash bench/run.sh`); it is copied,
#   never changed. Needs wrk (Debian package `wrk`) and python3. Results: $BENCH_DIR/serve-load.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${BENCH_DIR:-/tmp/varta-bench}"
SRC="${1:-$DIR/store-cnt-csv-1000000}"
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
[[ -f "$SRC/varta.sqlite3" ]] || { echo "no store at $SRC (run bash bench/run.sh first)" >&2; exit 1; }
cargo build --release -q -p varta-cli
VARTA="$PWD/target/release/varta"
STORE="$DIR/serve-store"
rm -rf "$STORE"; mkdir -p "$DIR"; cp -r "$SRC" "$STORE"
"$VARTA" --data-dir "$STORE" detect campaigns --json > /dev/null
READER=$("$VARTA" --data-dir "$STORE" token add bench-reader --role reader 2>/dev/null)
ANALYST=$("$VARTA" --data-dir "$STORE" token add bench-analyst --role analyst 2>/dev/null)

# 100,000 posts the store does not hold: the generator's posts of another seed, numbered after it.
UP="$DIR/upload-100k.csv"
if [[ ! -f "$UP" ]]; then
  python3 bench/gen_posts.py --out "$DIR/upload-gen" --posts 100000 --seed 2 --pages 0 >/dev/null
  python3 - "$DIR/upload-gen/posts.cnt.csv" "$UP" <<'PY'
import csv, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src, newline="") as f, open(dst, "w", newline="") as g:
    r, w = csv.reader(f), csv.writer(g)
    w.writerow(next(r))
    for row in r:
        row[0] = str(int(row[0]) + 50_000_000)
        w.writerow(row)
PY
fi

PORT=18787
"$VARTA" --data-dir "$STORE" serve --listen "127.0.0.1:$PORT" > "$DIR/serve.out" 2> "$DIR/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
BASE="http://127.0.0.1:$PORT"
results="$DIR/serve-load.jsonl"; : > "$results"
say() { echo "$1" | tee -a "$results"; }
export QUERIES="$PWD/bench/queries.txt" TOKEN="$READER" BASIC
BASIC=$(printf 'bench:%s' "$READER" | base64 -w0)

# Warm the page cache and the index readers once, as a server that has run a while has them.
wrk -t2 -c10 -d5s -s bench/serve/search.lua "$BASE" > /dev/null
line=$(wrk -t2 -c50 -d30s --timeout 5s -s bench/serve/search.lua "$BASE" | tail -n 1)
say "{\"bench\": \"search\", \"clients\": 50, ${line:1}"
line=$(wrk -t2 -c4 -d20s --timeout 5s -s bench/serve/taxii.lua "$BASE" | tail -n 1)
say "{\"bench\": \"taxii-page-1000\", \"clients\": 4, ${line:1}"

before=$(curl -sf -H "Authorization: Bearer $READER" "$BASE/api/v1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["documents"])')
wrk -t2 -c20 -d600s --timeout 5s -s bench/serve/search.lua "$BASE" > "$DIR/during.txt" &
WRK=$!
sleep 2
start=$(date +%s.%N)
curl -sf -H "Authorization: Bearer $ANALYST" -H "Content-Type: application/octet-stream" \
  --data-binary @"$UP" "$BASE/api/v1/documents?format=cnt-csv" > "$DIR/upload.json"
end=$(date +%s.%N)
sleep 1
kill -INT $WRK; wait $WRK || true
during=$(tail -n 1 "$DIR/during.txt")
say "{\"bench\": \"search-during-upload\", \"clients\": 20, ${during:1}"
after=$(curl -sf -H "Authorization: Bearer $READER" "$BASE/api/v1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["documents"])')
hwm=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
kill -TERM $PID; wait $PID || true
trap - EXIT
check=$("$VARTA" --data-dir "$STORE" check --json | tail -n 1)
python3 - "$DIR/upload.json" "$before" "$after" "$start" "$end" "$hwm" "$check" <<'PY' | tee -a "$results"
import json, sys
up = json.load(open(sys.argv[1]))
before, after = int(sys.argv[2]), int(sys.argv[3])
secs = float(sys.argv[5]) - float(sys.argv[4])
check = json.loads(sys.argv[7])
print(json.dumps({"bench": "upload", "posts": up["ingested"] + up["duplicates"] + up["failed"],
                  "ingested": up["ingested"], "failed": up["failed"], "stored_before": before,
                  "stored_after": after, "lost": before + up["ingested"] - after, "seconds": round(secs, 1),
                  "per_second": round(up["ingested"] / secs), "check_ok": check["ok"]}))
print(json.dumps({"bench": "server-memory", "peak_rss_mb": round(int(sys.argv[6]) / 1024)}))
PY
echo "results: $results"
