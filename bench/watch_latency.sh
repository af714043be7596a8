#!/usr/bin/env bash
# Alert latency of `varta watch` under a sustained stream of posts, optionally with kill -9.
#
# A local feed server (bench/watch/feedsim.py) publishes posts at RATE per hour, half in an RSS
# feed polled every 10 s, half as JSON-lines files dropped into a folder; every MARKER_EVERY
# seconds one post carries a marker word that a rule of the watcher matches. The same process
# receives the webhook alerts (checking their HMAC signatures). Reported: the latency from a
# marker post appearing to its alert arriving (all, p50, p95, max), alerts lost, ids doubled,
# posts not stored, and the watcher's peak memory. With KILL=1 the watcher is killed with SIGKILL at random
# moments (every 15–60 s) and started again at once.
#
#   bash bench/watch_latency.sh                 # 10 minutes at 100,000 posts/hour
#   KILL=1 DURATION=600 bash bench/watch_latency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-100000}
DURATION=${DURATION:-600}
MARKER_EVERY=${MARKER_EVERY:-15}
KILL=${KILL:-0}
WORK=${BENCH_DIR:-$(mktemp -d)}
cargo build --release -q -p varta-cli
VARTA=$PWD/target/release/varta
mkdir -p "$WORK/incoming"
rm -rf "$WORK/data" "$WORK/ports" "$WORK/incoming"/*
MARKERS=$(python3 -c "print(int($DURATION / $MARKER_EVERY))")
python3 bench/watch/feedsim.py --rate "$RATE" --duration "$DURATION" --marker-every "$MARKER_EVERY" \
  --markers "$MARKERS" --folder "$WORK/incoming" --ports-file "$WORK/ports" --out "$WORK/feedsim.json" \
  > "$WORK/feedsim.log" 2>&1 &
SIM=$!
while [ ! -s "$WORK/ports" ]; do sleep 0.1; done
read -r FEED HOOK < "$WORK/ports"
{
  printf '[watch]\nallow_private = true\n[detect]\ncampaigns_every = "2m"\ncampaigns_window = "1h"\ncoordination_every = "5m"\ncoordination_window = "1h"\nnarratives_every = "3m"\nnarratives_window = "1h"\n'
  printf '[[source]]\nurl = "http://127.0.0.1:%s/feed.xml"\nevery = "10s"\nname = "feedsim"\n' "$FEED"
  printf '[[source]]\nfolder = "%s"\nevery = "2s"\n' "$WORK/incoming"
  for ((m = 0; m < MARKERS; m++)); do printf '[[rule]]\nname = "marker %d"\nany = ["vartamarker%d"]\n' "$m" "$m"; done
  printf '[[alert]]\nwebhook = "http://127.0.0.1:%s/hook"\nsecret = "bench-secret"\n' "$HOOK"
} > "$WORK/watch.toml"
start_watch() {
  VARTA_E5_MODEL= "$VARTA" --data-dir "$WORK/data" --config "$WORK/watch.toml" watch >> "$WORK/watch.out" 2>> "$WORK/watch.log" &
  WATCH=$!
}
start_watch
PEAK=0
KILLS=0
NEXT_KILL=$(( SECONDS + 15 + RANDOM % 46 ))
while kill -0 "$SIM" 2>/dev/null; do
  RSS=$(awk '/VmRSS/ {print $2}' "/proc/$WATCH/status" 2>/dev/null || echo 0)
  [ "${RSS:-0}" -gt "$PEAK" ] && PEAK=$RSS
  if [ "$KILL" = 1 ] && [ "$SECONDS" -ge "$NEXT_KILL" ]; then
    kill -9 "$WATCH" 2>/dev/null || true
    wait "$WATCH" 2>/dev/null || true
    KILLS=$((KILLS + 1))
    start_watch
    NEXT_KILL=$(( SECONDS + 15 + RANDOM % 46 ))
  fi
  sleep 1
done
kill -TERM "$WATCH" 2>/dev/null || true
wait "$WATCH" 2>/dev/null || true
"$VARTA" --data-dir "$WORK/data" check --json > "$WORK/check.json" || true
python3 - "$WORK/feedsim.json" "$PEAK" "$KILLS" "$WORK/check.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); peak_kb = int(sys.argv[2]); kills = int(sys.argv[3])
check = json.load(open(sys.argv[4]))
first, ids_by_trigger, bad_sig = {}, {}, 0
for d in r["deliveries"]:
    if not d.get("signature_ok"): bad_sig += 1
    t = d.get("trigger", "")
    ids_by_trigger.setdefault(t, set()).add(d["id"])
    first[t] = min(first.get(t, d["t"]), d["t"])
lat, lost = [], []
for m, info in r["markers"].items():
    t = f"marker {m[len('vartamarker'):]}"
    if t in first: lat.append((first[t] - info["appeared"], info["where"]))
    else: lost.append(m)
doubled = sum(1 for t, ids in ids_by_trigger.items() if t.startswith("marker") and len(ids) > 1)
xs = sorted(x for x, _ in lat)
q = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")
out = {
  "posts": r["posts"], "seconds": round(r["seconds"]), "posts_per_hour": round(r["posts"] * 3600 / r["seconds"]),
  "markers": len(r["markers"]), "alerts_lost": len(lost), "triggers_with_two_ids": doubled,
  "deliveries": len(r["deliveries"]), "bad_signatures": bad_sig, "kills": kills,
  "latency_s": {"p50": round(q(0.5), 2), "p95": round(q(0.95), 2), "max": round(xs[-1], 2) if xs else None},
  "latency_feed_max_s": round(max((x for x, w in lat if w == "feed"), default=0), 2),
  "latency_folder_max_s": round(max((x for x, w in lat if w == "folder"), default=0), 2),
  "feed_200": r["feed_hits"]["200"], "feed_304": r["feed_hits"]["304"],
  "watcher_peak_rss_mb": round(peak_kb / 1024), "store_documents": check.get("documents"),
  "posts_not_stored": r["posts"] - (check.get("documents") or 0), "check_ok": check.get("ok"),
}
print(json.dumps(out, indent=1))
ok = not lost and not doubled and not bad_sig and xs and xs[-1] <= 60 and check.get("ok") and out["posts_not_stored"] == 0
sys.exit(0 if ok else 1)
PY
