#!/usr/bin/env bash
# Issue 5's side-by-side benchmark: `varta coord --parity` against coordination-network-toolkit 1.5.2
# (../shared/peers/coord_peer.sh), in one run, one table.
#
#   - inputs: bench/gen_coord.py with the messages of ../shared/eval/coord/dev-20k.csv (organic posts,
#     viral bursts, planted groups), 200,000 / 1,000,000 / 10,000,000 rows
#   - parity at 200k: co_link, co_tweet, co_retweet edge files compared row for row with the peer's
#   - speed at 1M: co_link, the peer's compute time (its preprocess not counted) against Varta's
#     whole run (reading the CSV included), and Varta's peak RSS. Targets: >= 50x, <= 1 GB
#   - 10M: Varta's co_link end to end. Target: <= 300 s
#
# Usage: bash bench/coord.sh      (inputs in $BENCH_DIR/coord, default /tmp/varta-bench/coord, ~1.6 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${VARTA_SHARED:-$PWD/../shared}"
DIR="${BENCH_DIR:-/tmp/varta-bench}"
OUT="$DIR/coord"
[[ -f $SHARED/DESIGN.md ]] || { echo "needs ../shared (or VARTA_SHARED)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }
mkdir -p "$OUT"
PY=$(PEERS_VENV="${PEERS_VENV:-$DIR/peers-venv}" bash "$SHARED/peers/setup.sh" | tail -n 1)
cargo build --release -q -p varta-cli
VARTA="$PWD/target/release/varta"
MSG="$SHARED/eval/coord/dev-20k.csv"
for n in 200000 1000000 10000000; do
  [[ -f $OUT/posts-$n.csv ]] || python3 bench/gen_coord.py --messages "$MSG" --out "$OUT/posts-$n.csv" --rows "$n" --seed 11
done

# The peer: all three parity networks at 200k, co_link at 1M (its script computes all four; the
# co_similar_tweet pass is skipped by giving it no time: the script is run per network below).
peer_net() { # peer_net INPUT OUTDIR NETWORK
  local db="$2/peer.db" bin; bin=$(dirname "$PY")/compute_networks
  mkdir -p "$2"
  [[ -f $db ]] || "$bin" "$db" preprocess "$1" >/dev/null
  local s e; s=$("$PY" -c 'import time; print(time.time())')
  "$bin" "$db" compute "$3" --time_window 60 --min_edge_weight 2 >/dev/null
  e=$("$PY" -c 'import time; print(time.time())')
  "$PY" -c "import sqlite3,sys;db=sqlite3.connect(sys.argv[1]);print('user_1,user_2,weight');[print(f'{a},{b},{w}') for a,b,w in db.execute('select user_1,user_2,weight from $3_network order by 1,2')]" "$db" > "$2/$3.csv"
  "$PY" -c "print(round($e - $s, 3))" > "$2/$3.seconds"
}
for k in co_link co_tweet co_retweet; do
  peer_net "$OUT/posts-200000.csv" "$OUT/peer-200k" $k
  "$VARTA" coord "$OUT/posts-200000.csv" --parity --network $k --window 60 --min-weight 2 --edges "$OUT/varta-200k-$k.csv" --json > "$OUT/varta-200k-$k.json"
done
rm -f "$OUT/peer-1m/peer.db"
peer_net "$OUT/posts-1000000.csv" "$OUT/peer-1m" co_link
/usr/bin/time -f "%e %M" -o "$OUT/time-1m.txt" "$VARTA" coord "$OUT/posts-1000000.csv" --parity --network co_link --window 60 --min-weight 2 --edges "$OUT/varta-1m-co_link.csv" --json > "$OUT/varta-1m.json"
/usr/bin/time -f "%e %M" -o "$OUT/time-10m.txt" "$VARTA" coord "$OUT/posts-10000000.csv" --parity --network co_link --window 60 --min-weight 2 --edges "$OUT/varta-10m-co_link.csv" --json > "$OUT/varta-10m.json"

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
same = lambda a, b: open(a).read() == open(b).read()
rows = lambda p: sum(1 for _ in open(p)) - 1
print("| check | peer | varta | result |")
print("| --- | ---: | ---: | --- |")
ok = True
for k in ("co_link", "co_tweet", "co_retweet"):
    s = same(f"{out}/peer-200k/{k}.csv", f"{out}/varta-200k-{k}.csv")
    ok &= s
    print(f"| 200k {k}: edges | {rows(f'{out}/peer-200k/{k}.csv'):,} | {rows(f'{out}/varta-200k-{k}.csv'):,} | {'identical' if s else 'DIFFER'} |")
s = same(f"{out}/peer-1m/co_link.csv", f"{out}/varta-1m-co_link.csv")
ok &= s
peer_s = float(open(f"{out}/peer-1m/co_link.seconds").read())
v_s, v_kb = map(float, open(f"{out}/time-1m.txt").read().split())
t_s, t_kb = map(float, open(f"{out}/time-10m.txt").read().split())
ratio = peer_s / v_s
print(f"| 1M co_link: edges | {rows(f'{out}/peer-1m/co_link.csv'):,} | {rows(f'{out}/varta-1m-co_link.csv'):,} | {'identical' if s else 'DIFFER'} |")
print(f"| 1M co_link: seconds (peer compute; varta whole run) | {peer_s:.1f} | {v_s:.2f} | {ratio:.0f}x |")
print(f"| 1M co_link: varta peak RSS | | {v_kb / 1024:.0f} MB | |")
print(f"| 10M co_link: varta whole run, peak RSS | | {t_s:.1f} s, {t_kb / 1024:.0f} MB | |")
checks = {"parity: identical edges": ok, "1M co_link >= 50x the peer": ratio >= 50, "1M peak <= 1 GB": v_kb <= 1024 * 1024, "10M <= 300 s": t_s <= 300}
for name, good in checks.items():
    print(("met: " if good else "MISSED: ") + name)
sys.exit(0 if all(checks.values()) else 1)
PY
