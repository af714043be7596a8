#!/usr/bin/env python3
"""Score predicted narratives against the stories of one half of bench/narratives.

  python3 bench/narratives/score.py PREDICTIONS.json HALF        (HALF: tune | held_out)

PREDICTIONS.json is the clustering tool's output, a JSON list of narratives
  [{"id": "...", "label": "...", "members": ["s01-uk-1", "u017", ...]}, ...]
(a dict holding that list under "narratives" or "clusters" is accepted too). Member ids are the
document ids of HALF.jsonl; an id not found as such is tried without a "source:" prefix (the text
up to its last ':'). Members outside the half are ignored and counted ("foreign_members").

Truth: each story is a class of its 6 tellings; each unrelated post is a class of its own.
Prediction: each narrative with >= 2 members in the half is a cluster; every other document of the
half (in no narrative, or in a narrative left with one member) is a singleton. A document listed in
several narratives is kept in the biggest (the first of equal size) and counted ("duplicates").

Prints one JSON line:
  ari                 adjusted Rand index (pair counting over the contingency table, Hubert & Arabie)
  unrelated_kept_out  share of the half's unrelated posts in no narrative of >= 2 members
  narratives          predicted narratives with >= 2 members in the half
  purity              over documents in those narratives: sum over narratives of the size of its
                      biggest truth class / documents in narratives (null if there are none)
  story_recall        share of the half's stories whose majority narrative holds >= 4 of its 6 tellings
  cross_lingual_recall  the same, where that narrative also holds tellings in all of uk, ru and en
  pairs_merged        same-topic pairs of the half whose two stories have the same majority narrative
Standard library only.
"""
import json
import os
import sys
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))


def comb2(n):
    return n * (n - 1) // 2


def adjusted_rand_index(truth, pred):
    """truth, pred: equal-length lists of hashable labels."""
    n = len(truth)
    if n < 2:
        return 1.0
    cont = Counter(zip(truth, pred))
    index = sum(comb2(v) for v in cont.values())
    a = sum(comb2(v) for v in Counter(truth).values())
    b = sum(comb2(v) for v in Counter(pred).values())
    total = comb2(n)
    expected = a * b / total
    maximum = (a + b) / 2
    if maximum == expected:  # both partitions trivial (all singletons or one cluster): identical
        return 1.0
    return (index - expected) / (maximum - expected)


def load_half(half):
    split = json.load(open(os.path.join(HERE, "split.json"), encoding="utf-8"))
    if half not in ("tune", "held_out"):
        sys.exit(f"HALF must be tune or held_out, not {half!r}")
    stories = set(split[half])
    unrelated = set(split[half + "_unrelated"])
    docs = {}
    for line in open(os.path.join(HERE, "stories.jsonl"), encoding="utf-8"):
        d = json.loads(line)
        if d["story"] in stories or (d["story"] is None and d["id"] in unrelated):
            docs[d["id"]] = d
    pairs = [p for p in split.get("pairs", []) if p[0] in stories and p[1] in stories]
    return docs, sorted(stories), pairs


def score(predictions, half):
    docs, stories, pairs = load_half(half)
    if isinstance(predictions, dict):
        predictions = predictions.get("narratives", predictions.get("clusters", []))

    def resolve(m):
        m = str(m)
        if m in docs:
            return m
        if ":" in m and m.rsplit(":", 1)[1] in docs:
            return m.rsplit(":", 1)[1]
        return None

    foreign = 0
    clusters = []
    for k, nar in enumerate(predictions):
        members = []
        for m in nar.get("members", []):
            r = resolve(m)
            if r is None:
                foreign += 1
            elif r not in members:
                members.append(r)
        clusters.append((k, members))

    # a document in several narratives stays in the biggest (first of equal size)
    owner = {}
    duplicates = 0
    for k, members in sorted(clusters, key=lambda c: (-len(c[1]), c[0])):
        for m in members:
            if m in owner:
                duplicates += 1
            else:
                owner[m] = k
    sizes = Counter(owner.values())
    cluster_of = {m: k for m, k in owner.items() if sizes[k] >= 2}

    ids = sorted(docs)
    truth = [docs[i]["story"] or ("u:" + i) for i in ids]
    pred = [("n", cluster_of[i]) if i in cluster_of else ("s", i) for i in ids]
    ari = adjusted_rand_index(truth, pred)

    unrelated = [i for i in ids if docs[i]["story"] is None]
    kept_out = sum(1 for i in unrelated if i not in cluster_of) / len(unrelated) if unrelated else None

    members_of = defaultdict(list)
    for m, k in cluster_of.items():
        members_of[k].append(m)
    in_nar = sum(len(v) for v in members_of.values())
    purity = None
    if in_nar:
        purity = sum(max(Counter(docs[m]["story"] or ("u:" + m) for m in v).values())
                     for v in members_of.values()) / in_nar

    majority = {}
    recalled = cross = 0
    for s in stories:
        tell = [i for i in ids if docs[i]["story"] == s]
        c = Counter(cluster_of[i] for i in tell if i in cluster_of)
        if not c:
            continue
        k, n = min(c.items(), key=lambda kv: (-kv[1], kv[0]))
        majority[s] = k
        if n >= 4:
            recalled += 1
            if {docs[i]["lang"] for i in tell if cluster_of.get(i) == k} >= {"uk", "ru", "en"}:
                cross += 1
    merged = sum(1 for a, b in pairs if a in majority and majority.get(a) == majority.get(b))

    return {
        "half": half,
        "documents": len(ids),
        "stories": len(stories),
        "unrelated": len(unrelated),
        "ari": round(ari, 4),
        "unrelated_kept_out": None if kept_out is None else round(kept_out, 4),
        "narratives": len(members_of),
        "docs_in_narratives": in_nar,
        "purity": None if purity is None else round(purity, 4),
        "story_recall": round(recalled / len(stories), 4),
        "cross_lingual_recall": round(cross / len(stories), 4),
        "pairs_merged": f"{merged}/{len(pairs)}",
        "foreign_members": foreign,
        "duplicates": duplicates,
    }


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    predictions = json.load(open(argv[1], encoding="utf-8"))
    print(json.dumps(score(predictions, argv[2]), ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv)
