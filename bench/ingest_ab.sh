#!/usr/bin/env bash
# Ingest throughput of two varta binaries, A/B in one run: on shared machines absolute times are noise,
# so both binaries are timed on the same input, interleaved, and the ratio is what to read.
#
# Usage: bash bench/ingest_ab.sh OLD_BIN NEW_BIN [POSTS]      (POSTS default 1000000)
#   ROUNDS=N        rounds (default 3); each round runs both binaries, OLD first in odd rounds and
#                   NEW first in even rounds
#   BENCH_DIR=DIR   inputs and stores (default /tmp/varta-bench)
#
# The input is the cnt-csv file of bench/gen_posts.py, generated once as bench/run.sh does it (the
# whole set, into $BENCH_DIR/inputs-POSTS, marked with .done; run.sh's cache is reused and the other way
# round). Each run is `BIN --data-dir FRESH ingest posts.cnt.csv --json` into a new data directory,
# deleted afterwards; wall seconds from `date +%s.%N`, peak RSS from /usr/bin/time -f %M when it
# exists. Prints one JSON line per run ({"round", "bin", "records", "seconds", "posts_per_s",
# "peak_rss_mb", ...}), then a summary line: the median posts/s of each binary, NEW/OLD (ratio of
# the medians; above 1 means NEW is faster) and the per-round ratios. All lines also go to
# $BENCH_DIR/ingest-ab-POSTS.jsonl.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: bash bench/ingest_ab.sh OLD_BIN NEW_BIN [POSTS]" >&2
  exit 2
fi
abs() { [[ $1 == /* ]] && echo "$1" || echo "$PWD/$1"; }
OLD_BIN=$(abs "$1")
NEW_BIN=$(abs "$2")
for b in "$OLD_BIN" "$NEW_BIN"; do
  [[ -x $b ]] || { echo "not an executable: $b" >&2; exit 2; }
done
POSTS="${3:-1000000}"
ROUNDS="${ROUNDS:-3}"
[[ $POSTS =~ ^[0-9]+$ && $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 ]] || {
  echo "POSTS and ROUNDS must be whole numbers, ROUNDS >= 1" >&2
  exit 2
}
cd "$(dirname "$0")/.."
DIR="${BENCH_DIR:-/tmp/varta-bench}"
DATA="$DIR/inputs-$POSTS"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
DATA="$DIR/inputs-$POSTS"
unset VARTA_DATA_DIR

if [[ ! -f "$DATA/.done" ]]; then
  python3 bench/gen_posts.py --out "$DATA" --posts "$POSTS"
  touch "$DATA/.done"
fi
INPUT="$DATA/posts.cnt.csv"
cat "$INPUT" >/dev/null # into the page cache, so that the first run does not pay for the disk

TIME=""
[[ -x /usr/bin/time ]] && TIME=/usr/bin/time
WORK=$(mktemp -d "$DIR/ingest-ab.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
RESULTS="$DIR/ingest-ab-$POSTS.jsonl"
: >"$RESULTS"

run_one() { # ROUND SIDE BIN
  local round=$1 side=$2 bin=$3 store="$WORK/store" rc=0 t0 t1 kb=""
  rm -rf "$store"
  t0=$(date +%s.%N)
  if [[ -n $TIME ]]; then
    "$TIME" -f %M -o "$WORK/rss" "$bin" --data-dir "$store" ingest "$INPUT" --json \
      >"$WORK/out.json" 2>"$WORK/err.txt" || rc=$?
  else
    "$bin" --data-dir "$store" ingest "$INPUT" --json >"$WORK/out.json" 2>"$WORK/err.txt" || rc=$?
  fi
  t1=$(date +%s.%N)
  [[ -n $TIME ]] && kb=$(tail -n 1 "$WORK/rss")
  rm -rf "$store"
  if [[ $rc -ne 0 ]]; then
    echo "$side ($bin) failed with exit code $rc:" >&2
    tail -n 20 "$WORK/err.txt" >&2
    exit 1
  fi
  python3 - "$round" "$side" "$bin" "$t0" "$t1" "$kb" "$WORK/out.json" <<'PY' | tee -a "$RESULTS"
import json, sys
rnd, side, binary, t0, t1, kb, out = sys.argv[1:]
lines = open(out).read().strip().splitlines()
s = json.loads(lines[-1])
secs = float(t1) - float(t0)
n = s["ingested"] + s["duplicates"]
print(json.dumps({"round": int(rnd), "bin": side, "path": binary, "records": n,
                  "ingested": s["ingested"], "duplicates": s["duplicates"], "failed": s["failed"],
                  "seconds": round(secs, 3), "posts_per_s": round(n / secs),
                  "peak_rss_mb": round(int(kb) / 1024) if kb else None}))
PY
}

for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2 == 1)); then
    run_one "$r" old "$OLD_BIN"
    run_one "$r" new "$NEW_BIN"
  else
    run_one "$r" new "$NEW_BIN"
    run_one "$r" old "$OLD_BIN"
  fi
done

python3 - "$RESULTS" "$POSTS" <<'PY' | tee -a "$RESULTS"
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
side = {b: [r for r in runs if r["bin"] == b] for b in ("old", "new")}
med = {b: statistics.median(r["posts_per_s"] for r in rs) for b, rs in side.items()}
rss = {b: [r["peak_rss_mb"] for r in rs if r["peak_rss_mb"] is not None] for b, rs in side.items()}
by_round = {}
for r in runs:
    by_round.setdefault(r["round"], {})[r["bin"]] = r["posts_per_s"]
records = {b: sorted({r["records"] for r in rs}) for b, rs in side.items()}
summary = {
    "bench": "ingest-ab", "input": "cnt-csv", "posts": int(sys.argv[2]), "rounds": len(by_round),
    "old_median_posts_per_s": round(med["old"]), "new_median_posts_per_s": round(med["new"]),
    "ratio_new_over_old": round(med["new"] / med["old"], 3),
    "round_ratios": [round(v["new"] / v["old"], 3) for _, v in sorted(by_round.items())],
    "old_median_peak_rss_mb": statistics.median(rss["old"]) if rss["old"] else None,
    "new_median_peak_rss_mb": statistics.median(rss["new"]) if rss["new"] else None,
    "records": {"old": records["old"], "new": records["new"]},
}
print(json.dumps(summary))
if records["old"] != records["new"]:
    print(f"warning: the binaries stored different record counts: {records}", file=sys.stderr)
PY
echo "NEW/OLD ingest throughput (median posts/s): $(tail -n 1 "$RESULTS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ratio_new_over_old"])')  (runs: $RESULTS)"
