#!/usr/bin/env bash
# Memory of `varta watch` over simulated days: HOURS (default 48) hourly files of RATE posts
# (default 100,000; times spread over the HOURS hours that end now; texts from a 30,000-word
# pseudo-vocabulary, 1% copies of the hour's 20 campaign texts) dropped into a watched folder
# one after the other, each as soon as the previous one is stored and detected. The watcher's
# resident memory and the burst keys it tracks are read after each hour. Bursts keep a day of
# history: during the first day the keys (every distinct link and hashtag of the day) grow with the
# data; from the second day on, the oldest hour leaves as a new one comes, and memory must stay flat.
# Rules and bursts run; claims, coordination and narratives are off (no claims database, no model;
# coordination is measured by bench/coord.sh). CAMPAIGNS=1 also runs copy-paste campaigns on every
# batch over their 6-hour window (its clock follows the posts' times, so the replayed hours slide
# it, and the index's documents are reported per hour). COORD=1 also runs coordination on every
# batch over its window (COORD_WINDOW, default "1d" as in the watcher; the window estimated every
# 30 minutes), and reports the posts it holds and its groups per hour.
#   bash bench/watch_day.sh            # 48 hours × 100,000 = 4.8 million posts
#   CAMPAIGNS=1 HOURS=12 bash bench/watch_day.sh
#   COORD=1 HOURS=12 bash bench/watch_day.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-100000}
HOURS=${HOURS:-48}
CAMPAIGNS=${CAMPAIGNS:-0}
COORD=${COORD:-0}
COORD_WINDOW=${COORD_WINDOW:-1d}
WORK=${BENCH_DIR:-$(mktemp -d)}
cargo build --release -q -p varta-cli
VARTA=$PWD/target/release/varta
rm -rf "$WORK/data" "$WORK/incoming" && mkdir -p "$WORK/incoming" "$WORK/day"
last=$(printf '%02d' $((HOURS - 1)))
[ -f "$WORK/day/hour-$last.jsonl.src" ] || python3 bench/watch/day.py "$WORK/day" "$RATE" "$HOURS"
{
  printf '[watch]\nallow_private = true\n[detect]\nclaims = false\nnarratives_every = "0s"\n'
  [ "$CAMPAIGNS" = 1 ] || printf 'campaigns_every = "0s"\n'
  if [ "$COORD" = 1 ]; then
    printf 'coordination_window = "%s"\n' "$COORD_WINDOW"
  else
    printf 'coordination_every = "0s"\n'
  fi
  printf '[bursts]\nmin_count = 50\n'
  printf '[[source]]\nfolder = "%s"\nevery = "500ms"\n' "$WORK/incoming"
  printf '[[rule]]\nname = "control"\nany = ["під контролем", "under control"]\nmin_docs = 1000000\n'
  printf '[[alert]]\njsonl = "%s"\n' "$WORK/alerts.jsonl"
} > "$WORK/watch.toml"
VARTA_E5_MODEL= "$VARTA" --data-dir "$WORK/data" --config "$WORK/watch.toml" watch > "$WORK/watch.out" 2> "$WORK/watch.log" &
WATCH=$!
trap 'kill $WATCH 2>/dev/null || true' EXIT
sleep 2
echo "hour,documents,rss_mb,hwm_mb,keys,campaign_documents,coordination_posts,coordination_groups,seconds"
T0=$SECONDS
for h in $(seq -f %02g 0 $((HOURS - 1))); do
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
  sleep 3   # the batch's detection, after its documents are stored
  st=$("$VARTA" --data-dir "$WORK/data" watch --status --json 2>/dev/null || true)
  keys=$(printf '%s' "$st" | python3 -c "import json,sys
try: print(json.load(sys.stdin)['last_batch']['tracked_keys'])
except Exception: print(0)")
  cdocs=$(printf '%s' "$st" | python3 -c "import json,sys
try: print(json.load(sys.stdin)['last_batch'].get('campaign_documents', 0))
except Exception: print(0)")
  read -r cposts cgroups < <(printf '%s' "$st" | python3 -c "import json,sys
try:
  b=json.load(sys.stdin)['last_batch']; print(b.get('coordination_posts', 0), b.get('coordination_groups', 0))
except Exception: print(0, 0)")
  rss=$(awk '/VmRSS/ {printf "%d", $2/1024}' /proc/$WATCH/status)
  hwm=$(awk '/VmHWM/ {printf "%d", $2/1024}' /proc/$WATCH/status)
  echo "$h,$got,$rss,$hwm,$keys,$cdocs,$cposts,$cgroups,$((SECONDS - T0))"
done
kill -TERM $WATCH; wait $WATCH || true
