#!/usr/bin/env python3
"""Split bench/narratives/stories.jsonl into halves: split.json, tune.jsonl, held_out.jsonl.

  python3 bench/narratives/split.py

Stories: each same-topic pair is one unit, so both its stories land in the same half. With
rng = random.Random(27): the 15 pairs (sorted) are shuffled with rng, then the 30 other stories
(sorted ids) with the same rng. `tune` takes the first 7 pairs and the first 16 other stories (30
stories), `held_out` the other 8 pairs and 14 stories (30). Shuffling pairs and single stories
separately keeps the hard cases (same topic, different claim) balanced between the halves; held_out
gets the odd pair. Unrelated posts: their sorted ids shuffled with a fresh random.Random(27), the
first half `tune`, the rest `held_out`. Deterministic; re-running rewrites the same files.
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

# Same-topic pairs: the same subject, different claims (see README.md).
PAIRS = [
    ("s01", "s02"), ("s03", "s04"), ("s05", "s06"), ("s07", "s08"), ("s09", "s10"),
    ("s11", "s12"), ("s13", "s14"), ("s15", "s16"), ("s17", "s18"), ("s19", "s20"),
    ("s21", "s22"), ("s23", "s24"), ("s25", "s26"), ("s27", "s28"), ("s29", "s30"),
]


def main():
    docs = [json.loads(line) for line in open(os.path.join(HERE, "stories.jsonl"), encoding="utf-8")]
    stories = sorted({d["story"] for d in docs if d["story"]})
    unrelated = sorted(d["id"] for d in docs if d["story"] is None)

    paired = {s for p in PAIRS for s in p}
    pairs = sorted(tuple(sorted(p)) for p in PAIRS)
    singles = [s for s in stories if s not in paired]
    rng = random.Random(27)
    rng.shuffle(pairs)
    rng.shuffle(singles)
    n_pairs_tune = len(pairs) // 2                                  # 7 of 15
    n_singles_tune = len(stories) // 2 - 2 * n_pairs_tune           # 16 of 30
    tune = [s for p in pairs[:n_pairs_tune] for s in p] + singles[:n_singles_tune]
    held = [s for p in pairs[n_pairs_tune:] for s in p] + singles[n_singles_tune:]
    assert len(tune) == len(held) == len(stories) // 2

    u_ids = list(unrelated)
    random.Random(27).shuffle(u_ids)
    uh = len(u_ids) // 2
    split = {
        "tune": sorted(tune),
        "held_out": sorted(held),
        "tune_unrelated": sorted(u_ids[:uh]),
        "held_out_unrelated": sorted(u_ids[uh:]),
        "pairs": [list(p) for p in PAIRS],
    }
    with open(os.path.join(HERE, "split.json"), "w", encoding="utf-8") as f:
        json.dump(split, f, indent=1)
        f.write("\n")

    for name, sids, uids in (("tune", tune, u_ids[:uh]), ("held_out", held, u_ids[uh:])):
        keep_s, keep_u = set(sids), set(uids)
        rows = [d for d in docs if (d["story"] in keep_s) or (d["story"] is None and d["id"] in keep_u)]
        rows.sort(key=lambda d: (d["time"], d["id"]))
        with open(os.path.join(HERE, name + ".jsonl"), "w", encoding="utf-8") as f:
            for d in rows:
                f.write(json.dumps({"id": d["id"], "text": d["text"], "time": d["time"]}, ensure_ascii=False) + "\n")
        print(f"{name}: {len(sids)} stories, {len(uids)} unrelated, {len(rows)} documents")


if __name__ == "__main__":
    main()
