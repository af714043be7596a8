#!/usr/bin/env bash
# Memory of `varta watch` over a simulated day: 24 hourly files of RATE posts (default 100,000,
# times spread over the 24 hours that end now) dropped into a watched folder one after the other,
# each as soon as the previous one is stored and detected. The watcher's resident memory is read
# after each hour; the day's bursts, rules and group tracking keep a day of history, so after
# the first hour it may grow only with what the store itself holds (its page cache and the index
# writer's buffer, both capped by configuration).
#   bash bench/watch_day.sh            # RATE=100000 → 2.4 million posts
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-100000}
WORK=${BENCH_DIR:-$(mktemp -d)}
cargo build --release -q -p varta-cli
VARTA=$PWD/target/release/varta
rm -rf "$WORK/data" "$WORK/incoming" && mkdir -p "$WORK/incoming" "$WORK/day"
[ -f "$WORK/day/hour-23.jsonl.src" ] || python3 bench/watch/day.py "$WORK/day" "$RATE"
{
  printf '[watch]\nallow_private = true\n[detect]\nclaims = false\ncampaigns_every = "0s"\ncoordination_every = "0s"\n'
  printf '[bursts]\nmin_count = 50\n'
  printf '[[source]]\nfolder = "%s"\nevery = "500ms"\n' "$WORK/incoming"
  printf '[[rule]]\nname = "control"\nany = ["під контролем", "under control"]\nmin_docs = 1000000\n'
  printf '[[alert]]\njsonl = "%s"\n' "$WORK/alerts.jsonl"
} > "$WORK/watch.toml"
VARTA_E5_MODEL= "$VARTA" --data-dir "$WORK/data" --config "$WORK/watch.toml" watch > "$WORK/watch.out" 2> "$WORK/watch.log" &
WATCH=$!
trap 'kill $WATCH 2>/dev/null || true' EXIT
sleep 2
echo "hour,documents,rss_mb,hwm_mb,keys,seconds"
T0=$SECONDS
for h in $(seq -w 0 23); do
  cp "$WORK/day/hour-$h.jsonl.src" "$WORK/incoming/.hour-$h.jsonl"
  mv "$WORK/incoming/.hour-$h.jsonl" "$WORK/incoming/hour-$h.jsonl"
  want=$(( (10#$h + 1) * RATE ))
  while :; do
    st=$("$VARTA" --data-dir "$WORK/data" watch --status --json 2>/dev/null || true)
    got=$(printf '%s' "$st" | python3 -c "import json,sys
try:
  s=json.load(sys.stdin); print(sum(x['documents'] for x in s['sources']))
except Exception: print(0)")
    [ "$got" -ge "$want" ] && break
    sleep 1
  done
  sleep 1.5   # the batch after the store: detection
  keys=$(printf '%s' "$st" | python3 -c "import json,sys; print(json.load(sys.stdin)['last_batch']['tracked_keys'])")
  rss=$(awk '/VmRSS/ {printf "%d", $2/1024}' /proc/$WATCH/status)
  hwm=$(awk '/VmHWM/ {printf "%d", $2/1024}' /proc/$WATCH/status)
  echo "$h,$got,$rss,$hwm,$keys,$((SECONDS - T0))"
done
kill -TERM $WATCH; wait $WATCH || true
