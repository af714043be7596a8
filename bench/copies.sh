#!/usr/bin/env bash
# Copy-paste campaigns at scale: how campaign detection, near-duplicate clustering and coordination
# behave when a large share of the posts are copies of one text.
#
# Inputs, by bench/gen_copies.py (seed 1), for every SIZE x FRACTION x SHAPE: SIZE posts over 14 days by
# max(20000, SIZE/10) accounts, a FRACTION of them copies, at random times by random accounts; the rest
# unrelated posts of 20-50 words from a 50,000-word Zipf-like vocabulary (no two near-duplicates).
#   - one:      every copy is the same 50-word Ukrainian disinformation post
#   - variants: the copies spread evenly over 20 variants of it, each one word different
#   - phrases:  no campaign; the copies are 2,000 common sentences (12-25 words) reused at random, the
#               shape that gives coordination many popular text keys
# Each input is written as coordination-network-toolkit CSV and as {"id","text"} JSON lines, once, into
# $BENCH_DIR/copies (default /tmp/varta-bench/copies; about 0.9 GB per million posts) and reused.
#
# For each input: `varta ingest` into a fresh store ($BENCH_DIR/copies/store, removed after the input;
# timed and recorded, not a target), then, each timed with /usr/bin/time (wall seconds, peak RSS):
#   - varta detect campaigns --json             (store; campaigns, members of the biggest)
#   - varta dedup FILE.jsonl --clusters OUT --json  (clusters written, ids in the biggest; recorded as
#     skipped when `varta dedup --help` shows no --clusters)
#   - varta coord FILE.csv --window 60 --json   (own mode, no store; groups)
#   - varta detect coordination --window 60 --json  (store; groups)
# A command that fails, is killed or runs past $TIMEOUT seconds (default 3600) is recorded as failed with
# its exit code (124: timed out) and the run goes on. Every measurement is appended as one JSON object to
# $BENCH_DIR/copies/results.jsonl; at the end a Markdown table of this run (seconds / peak GB per command,
# the counts) and the targets:
#   - 1M posts, 50% copies, variants: detect campaigns <= 30 s and <= 1.5 GB; dedup --clusters <= 20 s
#     and <= 1 GB; the biggest campaign holds all 500,000 copies (or there is one campaign per variant)
#   - 10M posts, 10% copies: detect campaigns <= 300 s and <= 6 GB
#   - own-mode coord: every 1M input <= 10 s and <= 1 GB, every 10M input <= 120 s and <= 6 GB
# Targets whose input was not part of the run are reported as not measured. Exit 1 if one is missed.
#
# Usage: bash bench/copies.sh [SIZES] [FRACTIONS] [SHAPES]
#        defaults "200000 1000000" "0.01 0.1 0.5" "one variants"; 10000000 and phrases allowed, e.g.
#        bash bench/copies.sh 10000000 0.1 "one variants"
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES="${1:-200000 1000000}"
FRACTIONS="${2:-0.01 0.1 0.5}"
SHAPES="${3:-one variants}"
DIR="${BENCH_DIR:-/tmp/varta-bench}"
OUT="$DIR/copies"
TIMEOUT="${TIMEOUT:-3600}"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }
for s in $SHAPES; do
  [[ $s == one || $s == variants || $s == phrases ]] || { echo "unknown shape: $s (one, variants, phrases)" >&2; exit 2; }
done
mkdir -p "$OUT"
if [[ -z ${VARTA_BIN:-} ]]; then
  cargo build --release -q -p varta-cli
fi
VARTA="${VARTA_BIN:-$PWD/target/release/varta}"


RESULTS="$OUT/results.jsonl"
RUN=$(date -u +%Y-%m-%dT%H:%M:%SZ)
CLUSTERS=0
"$VARTA" dedup --help | grep -q -- '--clusters' && CLUSTERS=1

for n in $SIZES; do for f in $FRACTIONS; do for s in $SHAPES; do
  base="$OUT/posts-$n-$f-$s"
  if [[ ! -f $base.csv || ! -f $base.jsonl ]]; then
    python3 bench/gen_copies.py --out "$base.csv.part" --jsonl "$base.jsonl.part" --posts "$n" --copies "$f" --shape "$s" --seed 1
    mv "$base.jsonl.part" "$base.jsonl"
    mv "$base.csv.part" "$base.csv"
  fi
done; done; done

# record COMMAND STATUS RC TIMEFILE OUTPUT: appends one measurement (with the counts read from OUTPUT)
record() {
  python3 - "$RESULTS" "$RUN" "$n" "$f" "$s" "$@" <<'PY'
import datetime, json, os, sys
results, run, posts, frac, shape, command, status, rc, timefile, output = sys.argv[1:]
r = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "run": run,
     "posts": int(posts), "copies": float(frac), "shape": shape, "command": command, "status": status,
     "exit_code": int(rc) if rc else None, "seconds": None, "peak_mb": None}
if os.path.exists(timefile):
    last = open(timefile).read().strip().splitlines()[-1:]  # after "Command exited with ..." if any
    try:
        secs, kb = last[0].split()
        r["seconds"], r["peak_mb"] = float(secs), round(int(kb) / 1024, 1)
    except (IndexError, ValueError):
        pass
if status == "ok":
    try:
        if command == "ingest":
            r["ingested"] = json.loads(open(output).read().strip().splitlines()[-1])["ingested"]
        elif command == "detect campaigns":
            sizes = sorted((len(c["members"]) for c in json.load(open(output))), reverse=True)
            r.update(campaigns=len(sizes), biggest_campaign=sizes[0] if sizes else 0, campaign_sizes=sizes[:25])
        elif command == "dedup --clusters":
            n = big = 0
            for line in open(output):
                if line.strip():
                    n += 1
                    big = max(big, len(json.loads(line)["ids"]))
            r.update(clusters=n, biggest_cluster=big)
        else:  # coord, detect coordination
            d = json.load(open(output))
            groups = d.get("groups", []) if isinstance(d, dict) else d
            r.update(groups=len(groups), biggest_group=max((len(g.get("members", [])) for g in groups), default=0))
    except Exception as e:  # the command succeeded but its output is not what was expected
        r["status"], r["error"] = "bad output", f"{type(e).__name__}: {e}"
with open(results, "a") as fh:
    fh.write(json.dumps(r) + "\n")
print(json.dumps({k: v for k, v in r.items() if k not in ("run", "campaign_sizes")}))
PY
}

# measure COMMAND OUTPUT VARTA_ARGS...: runs varta on the store under /usr/bin/time, stdout to OUTPUT
# (or to COUNTS when set: the file the counts are read from), and records it; never fails the script.
# Returns varta's exit code.
measure() {
  local command=$1 output=$2 rc=0 status=ok; shift 2
  rm -f "$OUT/time.txt"
  VARTA_DATA_DIR="$store" /usr/bin/time -f "%e %M" -o "$OUT/time.txt" \
    timeout --kill-after=30 "$TIMEOUT" "$VARTA" "$@" > "$output" 2> "$output.err" || rc=$?
  if ((rc == 124)); then status="timed out"; elif ((rc != 0)); then status=failed; fi
  if ((rc != 0)); then echo "$command failed ($rc): $(tail -n 3 "$output.err")" >&2; fi
  record "$command" "$status" "$rc" "$OUT/time.txt" "${COUNTS:-$output}"
  return $rc
}
skip() { record "$1" "$2" "" "" ""; }

for n in $SIZES; do for f in $FRACTIONS; do for s in $SHAPES; do
  base="$OUT/posts-$n-$f-$s"
  store="$OUT/store"
  rm -rf "$store"
  ingested=0
  measure "ingest" "$OUT/ingest.json" ingest "$base.csv" --json && ingested=1
  if ((ingested)); then
    measure "detect campaigns" "$OUT/campaigns.json" detect campaigns --json || true
  else
    skip "detect campaigns" "skipped: ingest failed"
  fi
  if ((CLUSTERS)); then
    rm -f "$OUT/clusters.jsonl"
    COUNTS="$OUT/clusters.jsonl" measure "dedup --clusters" "$OUT/dedup.json" dedup "$base.jsonl" --clusters "$OUT/clusters.jsonl" --json || true
  else
    skip "dedup --clusters" "skipped: varta dedup has no --clusters"
  fi
  measure "coord" "$OUT/coord.json" coord "$base.csv" --window 60 --json || true
  if ((ingested)); then
    measure "detect coordination" "$OUT/coordination.json" detect coordination --window 60 --json || true
  else
    skip "detect coordination" "skipped: ingest failed"
  fi
  rm -rf "$store"
done; done; done

python3 - "$RESULTS" "$RUN" <<'PY'
import json, sys
from fractions import Fraction
results, run = sys.argv[1:]
rows = [r for r in map(json.loads, open(results)) if r.get("run") == run]
by = {}
for r in rows:
    by.setdefault((r["posts"], r["copies"], r["shape"]), {})[r["command"]] = r
order = {"one": 0, "variants": 1, "phrases": 2}
cmds = ["ingest", "detect campaigns", "dedup --clusters", "coord", "detect coordination"]

def cell(r):
    if r is None:
        return ""
    if r["status"] != "ok":
        return r["status"] if r["exit_code"] is None else f"{r['status']} (exit {r['exit_code']})"
    return f"{r['seconds']:.1f} / {r['peak_mb'] / 1024:.2f}"

def count(r, key):
    return f"{r[key]:,}" if r and key in r else ""

print()
print("| posts | copies | shape | ingest s / GB | detect campaigns s / GB | campaigns | biggest | dedup --clusters s / GB "
      "| clusters | biggest | coord s / GB | groups | detect coordination s / GB | groups |")
print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for key in sorted(by, key=lambda k: (k[0], k[1], order[k[2]])):
    m = by[key]
    c = {k: m.get(k) for k in cmds}
    print(f"| {key[0]:,} | {key[1] * 100:g}% | {key[2]} | {cell(c['ingest'])} | {cell(c['detect campaigns'])} "
          f"| {count(c['detect campaigns'], 'campaigns')} | {count(c['detect campaigns'], 'biggest_campaign')} "
          f"| {cell(c['dedup --clusters'])} | {count(c['dedup --clusters'], 'clusters')} "
          f"| {count(c['dedup --clusters'], 'biggest_cluster')} | {cell(c['coord'])} | {count(c['coord'], 'groups')} "
          f"| {cell(c['detect coordination'])} | {count(c['detect coordination'], 'groups')} |")
print()

GB = 1024
checks = []  # (label, True/False, or None when not measured)

def limit(label, r, secs, gb):
    if r is None or r["status"].startswith("skipped"):
        checks.append((label, None))
    elif r["status"] != "ok" or r["seconds"] is None:
        checks.append((f"{label}: {r['status']} (exit {r['exit_code']})", False))
    else:
        checks.append((f"{label} ({r['seconds']:.1f} s, {r['peak_mb'] / GB:.2f} GB)",
                       r["seconds"] <= secs and r["peak_mb"] <= gb * GB))

key = (1000000, 0.5, "variants")
m = by.get(key, {})
limit("1M, 50% copies, variants: detect campaigns <= 30 s and <= 1.5 GB", m.get("detect campaigns"), 30, 1.5)
limit("1M, 50% copies, variants: dedup --clusters <= 20 s and <= 1 GB", m.get("dedup --clusters"), 20, 1)
r = m.get("detect campaigns")
label = "1M, 50% copies, variants: the biggest campaign has 500,000 members (or one campaign per variant)"
if r is None:
    checks.append((label, None))
elif r["status"] != "ok":
    checks.append((f"{label}: {r['status']}", False))
else:
    copies = 500000
    sizes = r["campaign_sizes"]
    one_per_variant = len(sizes) >= 20 and all(x == copies // 20 for x in sizes[:20])
    checks.append((f"{label} ({r['campaigns']:,} campaigns, biggest {r['biggest_campaign']:,})",
                   r["biggest_campaign"] == copies or one_per_variant))
tens = [k for k in by if k[0] == 10000000 and k[1] == 0.1]
for k in sorted(tens, key=lambda k: order[k[2]]):
    limit(f"10M, 10% copies, {k[2]}: detect campaigns <= 300 s and <= 6 GB", by[k].get("detect campaigns"), 300, 6)
if not tens:
    checks.append(("10M, 10% copies: detect campaigns <= 300 s and <= 6 GB", None))
for posts, secs, gb, name in ((1000000, 10, 1, "1M"), (10000000, 120, 6, "10M")):
    ks = sorted((k for k in by if k[0] == posts), key=lambda k: (k[1], order[k[2]]))
    for k in ks:
        limit(f"{name}, {k[1] * 100:g}% copies, {k[2]}: coord <= {secs} s and <= {gb} GB", by[k].get("coord"), secs, gb)
    if not ks:
        checks.append((f"{name} inputs: coord <= {secs} s and <= {gb} GB", None))
for label, ok in checks:
    print(("not measured: " if ok is None else "met: " if ok else "MISSED: ") + label)
failed = [f"{r['posts']:,} {r['copies'] * 100:g}% {r['shape']}: {r['command']} (exit {r['exit_code']})"
          for r in rows if r["status"] not in ("ok",) and not r["status"].startswith("skipped")]
for x in failed:
    print("failed: " + x)
print(f"results: {results}")
sys.exit(1 if any(ok is False for _, ok in checks) else 0)
PY
