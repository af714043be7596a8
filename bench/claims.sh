#!/usr/bin/env bash
# Claim matching at scale: 10,000 claims and 100,000 posts from bench/gen_claims.py (posts are 2-3
# messages of ../shared/eval/coord/dev-20k.csv; one in 50 repeats a claim with a light edit), in a
# fresh store. Times, separately: ingesting, importing the claims, embedding the claims (once;
# cached in the store), and `varta detect claims` at each embed gate given (each on a copy of the
# store with the claims' embeddings cached, no post embedded yet), with the number of posts
# embedded and of matches.
#
# usage: bash bench/claims.sh [POSTS] [CLAIMS] [GATE...]   (defaults: 100000 10000 0.05 0.3)
set -euo pipefail
cd "$(dirname "$0")/.."
POSTS=${1:-100000}
CLAIMS=${2:-10000}
shift $(( $# > 2 ? 2 : $# )) || true
GATES=("$@")
[[ ${#GATES[@]} -eq 0 ]] && GATES=(0.05 0.3)
W=/tmp/varta-bench/claims
rm -rf "$W" && mkdir -p "$W"
cargo build --release --locked -q -p varta-cli
V=$PWD/target/release/varta
python3 bench/gen_claims.py --messages ../shared/eval/coord/dev-20k.csv --claims "$CLAIMS" --posts "$POSTS" \
  --out-claims "$W/claims.json" --out-posts "$W/posts.jsonl"
now() { python3 -c 'import time; print(time.time())'; }
since() { python3 -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }
# Runs a command quietly and prints the seconds it took.
t() { local s; s=$(now); "$@" >/dev/null 2>&1; since "$s"; }
ing=$(t "$V" --data-dir "$W/store" ingest "$W/posts.jsonl")
imp=$(t "$V" --data-dir "$W/store" claims import "$W/claims.json")
emb=$(t "$V" --data-dir "$W/store" claims match "warm-up" --limit 1)
echo "ingest $POSTS posts: ${ing} s; import $CLAIMS claims: ${imp} s; embed the claims (cached): ${emb} s"
printf '| gate | posts embedded | matches | suggestions | detect claims, s |\n| ---: | ---: | ---: | ---: | ---: |\n'
for g in "${GATES[@]}"; do
  rm -rf "$W/run" && cp -r "$W/store" "$W/run"
  s=$(now)
  line=$("$V" --data-dir "$W/run" detect claims --embed-gate "$g" 2>/dev/null | head -1)
  secs=$(since "$s")
  # "N documents against M claims (...), E embedded, in S s: X matches, Y suggestions"
  e=$(sed -E 's/.*, ([0-9]+) embedded.*/\1/' <<<"$line")
  x=$(sed -E 's/.*: ([0-9]+) matches.*/\1/' <<<"$line")
  y=$(sed -E 's/.* ([0-9]+) suggestions.*/\1/' <<<"$line")
  printf '| %s | %s | %s | %s | %s |\n' "$g" "$e" "$x" "$y" "$secs"
done
