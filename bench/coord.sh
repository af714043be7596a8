#!/usr/bin/env bash
# The side-by-side benchmark: `varta coord --parity` against coordination-network-toolkit 1.5.2
# (the way ../shared/peers/coord_peer.sh runs it), in one run, one table.
#
# Inputs, by bench/gen_coord.py with the messages of ../shared/eval/coord/dev-20k.csv (organic posts,
# viral bursts, planted groups, as dev-20k):
#   - "fortnight": dev-20k's 14 days kept as the rows grow, and organic virality with a heavy tail
#     (--days 14 --viral-tail: the i-th biggest burst has rows/50/i sharers). 200k, 1M and 10M rows.
#     This is the benchmark set: a bigger collection of the same period, where popular links are
#     shared by thousands, which is where the toolkit's self-join spends its time.
#   - "sparse": 1M rows at dev-20k's density (14 days per 20,000 rows, bursts of 130): shown for
#     comparison; few co-shares, so the toolkit's join is cheap there and reading dominates.
# Checks:
#   - parity at 200k: co_link, co_tweet, co_retweet edge files compared byte for byte; at 1M: co_link
#   - speed at 1M, co_link: the toolkit's preprocess (loading the CSV into SQLite) and compute times
#     against Varta's whole run (reading the CSV included). Ratios: end to end (preprocess + compute,
#     what a user waits for from CSV to edges, as for Varta) and compute alone. Target >= 50x.
#   - Varta's peak RSS at 1M (target <= 1 GB) and its whole co_link run on 10M (target <= 300 s)
#
# Usage: bash bench/coord.sh      (inputs in $BENCH_DIR/coord, default /tmp/varta-bench/coord, ~3.5 GB)
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
  [[ -f $OUT/fortnight-$n.csv ]] || python3 bench/gen_coord.py --messages "$MSG" --out "$OUT/fortnight-$n.csv" --rows "$n" --seed 11 --days 14 --viral-tail
done
[[ -f $OUT/sparse-1000000.csv ]] || python3 bench/gen_coord.py --messages "$MSG" --out "$OUT/sparse-1000000.csv" --rows 1000000 --seed 11

now() { "$PY" -c 'import time; print(time.time())'; }
# peer_net INPUT OUTDIR NETWORK: the toolkit's preprocess (once per input) and one network, timed.
peer_net() {
  local db="$2/peer.db" bin s e; bin=$(dirname "$PY")/compute_networks
  mkdir -p "$2"
  if [[ ! -f $2/preprocess.seconds ]]; then
    rm -f "$db"
    s=$(now); "$bin" "$db" preprocess "$1" >/dev/null; e=$(now)
    "$PY" -c "print(round($e - $s, 3))" > "$2/preprocess.seconds"
  fi
  s=$(now); "$bin" "$db" compute "$3" --time_window 60 --min_edge_weight 2 >/dev/null; e=$(now)
  "$PY" -c "print(round($e - $s, 3))" > "$2/$3.seconds"
  "$PY" -c "import sqlite3,sys;db=sqlite3.connect(sys.argv[1]);print('user_1,user_2,weight');[print(f'{a},{b},{w}') for a,b,w in db.execute('select user_1,user_2,weight from $3_network order by 1,2')]" "$db" > "$2/$3.csv"
}
varta_net() { # varta_net INPUT NETWORK OUT_PREFIX: edges, JSON summary, wall seconds and peak KB
  /usr/bin/time -f "%e %M" -o "$3.time" "$VARTA" coord "$1" --parity --network "$2" --window 60 --min-weight 2 --edges "$3.csv" --json > "$3.json"
}
rm -rf "$OUT/peer-200k" "$OUT/peer-1m" "$OUT/peer-sparse-1m"
for k in co_link co_tweet co_retweet; do
  peer_net "$OUT/fortnight-200000.csv" "$OUT/peer-200k" $k
  varta_net "$OUT/fortnight-200000.csv" $k "$OUT/varta-200k-$k"
done
peer_net "$OUT/fortnight-1000000.csv" "$OUT/peer-1m" co_link
varta_net "$OUT/fortnight-1000000.csv" co_link "$OUT/varta-1m-co_link"
peer_net "$OUT/sparse-1000000.csv" "$OUT/peer-sparse-1m" co_link
varta_net "$OUT/sparse-1000000.csv" co_link "$OUT/varta-sparse-1m-co_link"
varta_net "$OUT/fortnight-10000000.csv" co_link "$OUT/varta-10m-co_link"

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
same = lambda a, b: open(a).read() == open(b).read()
rows = lambda p: sum(1 for _ in open(p)) - 1
sec = lambda p: float(open(p).read())
wall = lambda prefix: tuple(map(float, open(f"{prefix}.time").read().split()))
print("| check | peer | varta | result |")
print("| --- | ---: | ---: | --- |")
ok = True
def parity(label, peer, varta):
    global ok
    s = same(peer, varta)
    ok &= s
    print(f"| {label}: edges | {rows(peer):,} | {rows(varta):,} | {'identical' if s else 'DIFFER'} |")
for k in ("co_link", "co_tweet", "co_retweet"):
    parity(f"fortnight 200k {k}", f"{out}/peer-200k/{k}.csv", f"{out}/varta-200k-{k}.csv")
ratios = {}
for name, peer, varta in (("fortnight 1M", "peer-1m", "varta-1m-co_link"), ("sparse 1M", "peer-sparse-1m", "varta-sparse-1m-co_link")):
    parity(f"{name} co_link", f"{out}/{peer}/co_link.csv", f"{out}/{varta}.csv")
    pre, comp = sec(f"{out}/{peer}/preprocess.seconds"), sec(f"{out}/{peer}/co_link.seconds")
    v_s, v_kb = wall(f"{out}/{varta}")
    ratios[name] = ((pre + comp) / v_s, comp / v_s, v_kb)
    print(f"| {name} co_link: seconds, end to end (peer preprocess {pre:.1f} + compute {comp:.1f}; varta whole run) | {pre + comp:.1f} | {v_s:.2f} | {(pre + comp) / v_s:.0f}x |")
    print(f"| {name} co_link: seconds, compute alone (peer compute; varta whole run) | {comp:.1f} | {v_s:.2f} | {comp / v_s:.1f}x |")
    print(f"| {name} co_link: varta peak RSS | | {v_kb / 1024:.0f} MB | |")
t_s, t_kb = wall(f"{out}/varta-10m-co_link")
print(f"| fortnight 10M co_link: varta whole run, peak RSS | | {t_s:.1f} s, {t_kb / 1024:.0f} MB | |")
e2e, comp, kb = ratios["fortnight 1M"]
checks = {
    "parity: identical edges": ok,
    f"fortnight 1M co_link >= 50x the peer end to end ({e2e:.0f}x)": e2e >= 50,
    f"fortnight 1M co_link >= 50x the peer's compute alone ({comp:.1f}x)": comp >= 50,
    "1M peak <= 1 GB": kb <= 1024 * 1024,
    "10M <= 300 s": t_s <= 300,
}
for name, good in checks.items():
    print(("met: " if good else "MISSED: ") + name)
sys.exit(0 if all(checks.values()) else 1)
PY
