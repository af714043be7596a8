#!/usr/bin/env bash
# `varta watch` against a local news source: bench/watch/feedsim.py serves an RSS feed (with ETag
# and robots.txt), drops JSON-lines files into a folder, and receives the webhook alerts. Posts
# arrive at 3,600 an hour; every 10 s one mentions "vartamarkerN", which a rule per marker matches,
# plus the blackout rule below. After WATCH_SECONDS (default 40) the watcher is stopped with
# SIGTERM, and its status and the alerts the receiver got are shown. Data goes to
# $VARTA_DATA_DIR/watch-demo (else ./varta-data/watch-demo).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p varta-cli
varta=$PWD/target/debug/varta
secs=${WATCH_SECONDS:-40}
work="${VARTA_DATA_DIR:-varta-data}/watch-demo"
rm -rf "$work" && mkdir -p "$work/incoming"
python3 bench/watch/feedsim.py --rate 3600 --duration "$secs" --marker-every 10 --markers 3 \
  --folder "$work/incoming" --ports-file "$work/ports" --out "$work/received.json" > "$work/feedsim.log" 2>&1 &
sim=$!
while [ ! -s "$work/ports" ]; do sleep 0.1; done
read -r feed hook < "$work/ports"
cat > "$work/watch.toml" <<TOML
[watch]
allow_private = true          # the feed server runs on this machine
[[source]]
url = "http://127.0.0.1:$feed/feed.xml"
every = "10s"
name = "feedsim"
[[source]]
folder = "$work/incoming"
[[rule]]
name = "blackout rumours"
any = ["відключення світла", "blackout", "отключения света"]
[[rule]]
name = "marker 0"
any = ["vartamarker0"]
[[rule]]
name = "marker 1"
any = ["vartamarker1"]
[[rule]]
name = "marker 2"
any = ["vartamarker2"]
[[alert]]
webhook = "http://127.0.0.1:$hook/hook"
secret = "bench-secret"
[[alert]]
jsonl = "$work/alerts.jsonl"
TOML
echo "== varta --config $work/watch.toml watch   (for ${secs}s; the configuration:)"
cat "$work/watch.toml"
"$varta" --data-dir "$work/data" --config "$work/watch.toml" watch &
watcher=$!
wait "$sim" || true
echo
echo "== varta watch --status"
"$varta" --data-dir "$work/data" watch --status || true
kill -TERM "$watcher" && wait "$watcher" || true
echo
echo "== alerts the webhook received (signature checked), from $work/received.json"
python3 - "$work/received.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for d in r["deliveries"]:
    print(f'  {d["type"]}  {d["trigger"]!r} revision {d["revision"]}  id {d["id"]}  signature ok: {d["signature_ok"]}')
for m, info in r["markers"].items():
    t = [d["t"] for d in r["deliveries"] if d.get("trigger") == "marker " + m[len("vartamarker"):]]
    if t:
        print(f'  {m} appeared in the {info["where"]}; alert after {min(t) - info["appeared"]:.1f} s')
PY
