#!/usr/bin/env bash
# Coordination kept up to date per batch (what `varta watch` runs) against the full run over the
# same posts, on the shapes that stress it, each at N and 2N posts arriving at the same rate (twice
# as long), so that growth with the posts shows.
#
# Shapes (generated here, window 60 s, posts in time order; coordination-network-toolkit CSV; other
# texts are 12-20 random pseudo-words, never near-duplicates):
#   - copies-dense: copies of one 40-word text by distinct accounts, 3 a second (about 700 accounts
#     within two minutes of each copy, under the 1,000 above which a key's co-shares are worth
#     nothing: every copy's credit and chance rate move as copies come, the costliest rate)
#   - copies-flood: the same at 20 a second (the key is too crowded to count: the cheap case)
#   - link-dense:   one link by distinct accounts, 3 a second
#   - one-account:  one account posting one link once a second (nobody to co-share with)
#   - groups:       10 posts a second by max(2000, N/20) accounts, 30 planted groups of 8 pushing
#                   links within seconds, the rest sharing 5,000 news links at random
# For each: `varta coord FILE --window 60 --json` (the full run) and `varta coord FILE --window 60
# --live B --json` (batches of B posts, default 100: a few seconds of posts, as the watcher's
# batches are), each timed with /usr/bin/time (wall seconds, peak RSS). Printed: both times, the
# live run's time per batch, the ratio live/full (the per-batch network does all batches in that
# time; re-running the full network per batch would cost batches x full), and whether both hold
# the same groups (ids). A shape whose live time more than triples from N to 2N grows faster than
# its posts: reported, exit 1.
#
# Usage: bash bench/coord_live.sh [N] [SHAPES] (defaults 50000, all five); B=… for other batches.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-50000}"
SHAPES="${2:-copies-dense copies-flood link-dense one-account groups}"
B="${B:-100}"
DIR="${BENCH_DIR:-/tmp/varta-bench}/coord-live"
mkdir -p "$DIR"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }
if [[ -z ${VARTA_BIN:-} ]]; then
  cargo build --release -q -p varta-cli
fi
VARTA="${VARTA_BIN:-$PWD/target/release/varta}"

gen() { # shape n out
  python3 - "$1" "$2" "$3" <<'EOF'
import csv, random, sys
shape, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rnd = random.Random(7)
t0 = 1_730_000_000
text = ("Терміново: у неділю в усіх областях вимкнуть мобільний зв'язок на добу, запасайтеся водою "
        "та готівкою, поширте поки не видалили, бо влада приховує правду від людей і готує нові "
        "обмеження для всіх мешканців країни вже цього тижня")
syll = ["ка", "ро", "ні", "ва", "ле", "ту", "ми", "за", "пе", "ди", "со", "бу", "ля", "ти", "не", "ко"]
words = ["".join(rnd.choice(syll) for _ in range(rnd.randint(2, 4))) for _ in range(20000)]
def unrelated():
    # 12-20 random pseudo-words: no two near-duplicates, so no text key but the copies'.
    return " ".join(rnd.choice(words) for _ in range(rnd.randint(12, 20)))
rows = []
if shape == "groups":
    accounts = max(2000, n // 20)
    span = n / 10
    planted = [[f"g{g}m{m}" for m in range(8)] for g in range(30)]
    pushes = n // 20 // 8
    for p in range(pushes):
        g = planted[p % 30]
        t = t0 + rnd.uniform(0, span)
        for m in g:
            rows.append((t + rnd.uniform(0, 20), m, unrelated(), f"https://push.example/{p}"))
    while len(rows) < n:
        rows.append((t0 + rnd.uniform(0, span), f"u{rnd.randrange(accounts)}",
                     unrelated(), f"https://news.example/{rnd.randrange(5000)}"))
else:
    rate = {"copies-dense": 3, "copies-flood": 20, "link-dense": 3, "one-account": 1}[shape]
    for i in range(n):
        t = t0 + i / rate
        if shape.startswith("copies"):
            rows.append((t, f"u{i}", text, ""))
        elif shape == "link-dense":
            rows.append((t, f"u{i}", unrelated(), "https://viral.example/a"))
        else:
            rows.append((t, "u0", unrelated(), "https://own.example/a"))
rows.sort()
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["message_id", "user_id", "username", "repost_id", "reply_id", "message", "timestamp", "urls"])
    for i, (t, who, msg, url) in enumerate(rows):
        w.writerow([i, who, who, "", "", msg, f"{t:.3f}", url])
EOF
}

timed() { # out.json err -- cmd...
  local out=$1 err=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$err.time" "$@" >"$out" 2>"$err"
  cat "$err.time"
}

printf '| shape | posts | full s | live s | batches | ms per batch | live/full | full GB | live GB | same groups |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
fail=0
for s in $SHAPES; do
  prev=""
  for n in "$N" $((2 * N)); do
    f="$DIR/$s-$n.csv"
    [[ -s $f ]] || gen "$s" "$n" "$f"
    read -r fs fk < <(timed "$DIR/full.json" "$DIR/full.err" "$VARTA" coord "$f" --window 60 --json)
    read -r ls lk < <(timed "$DIR/live.json" "$DIR/live.err" "$VARTA" coord "$f" --window 60 --live "$B" --json)
    read -r batches same < <(python3 - "$DIR/full.json" "$DIR/live.json" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1])); l = json.load(open(sys.argv[2]))
same = sorted(g["id"] for g in f["groups"]) == sorted(g["id"] for g in l["groups"])
print(l["batches"], f"yes ({len(f['groups'])})" if same else f"NO ({len(f['groups'])} vs {len(l['groups'])})")
EOF
)
    awk -v s="$s" -v n="$n" -v fs="$fs" -v ls="$ls" -v b="$batches" -v fk="$fk" -v lk="$lk" -v same="$same" \
      'BEGIN { printf "| %s | %d | %.2f | %.2f | %d | %.1f | %.1f | %.2f | %.2f | %s |\n", s, n, fs, ls, b, 1000*ls/b, ls/(fs>0?fs:0.01), fk/1048576, lk/1048576, same }'
    if [[ -n $prev ]] && awk -v a="$prev" -v b="$ls" 'BEGIN { exit !(b > 3 * a + 1) }'; then
      echo "$s: live time $prev s -> $ls s from N to 2N posts: faster than linear" >&2
      fail=1
    fi
    prev=$ls
  done
done
exit $fail
