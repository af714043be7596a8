#!/usr/bin/env python3
"""Tabulates bench/gate.sh's `claims eval --details`: per embed gate, the evaluation repeats (lang
uk/ru/en) whose best lexical share is under it (`detect claims` would not embed them), recall@5 of
those repeats with the gate applied (a skipped repeat is found only if its lexical rank alone puts
it in the top 5: approximated as lost), and the share of unrelated generated posts (lang "bench",
no claim) still embedded.

usage: gate.py DETAILS.jsonl
"""
import json, sys

rows = [json.loads(l) for l in open(sys.argv[1])]
repeats = [r for r in rows if r["lang"] != "bench" and r["claim_url"]]
unrelated = [r for r in rows if r["lang"] == "bench" and not r["claim_url"]]
planted = [r for r in rows if r["lang"] == "bench" and r["claim_url"]]
print(f"{len(repeats)} evaluation repeats, {len(unrelated)} unrelated posts, {len(planted)} planted repeats")
print("| gate | repeats skipped | uk / ru / en skipped | recall@5 with the gate | planted repeats skipped | unrelated posts embedded |")
print("| ---: | ---: | --- | ---: | ---: | ---: |")
for g in (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3):
    skipped = [r for r in repeats if r["gate"]["lexical"] < g]
    by = {l: sum(1 for r in skipped if r["lang"] == l) for l in ("uk", "ru", "en")}
    found = sum(1 for r in repeats if r["rank"] and r["rank"] <= 5 and r["gate"]["lexical"] >= g)
    p_skip = sum(1 for r in planted if r["gate"]["lexical"] < g)
    emb = sum(1 for r in unrelated if r["gate"]["lexical"] >= g) / max(1, len(unrelated))
    print(f"| {g:.2f} | {len(skipped)} ({len(skipped) / len(repeats):.1%}) | {by['uk']} / {by['ru']} / {by['en']} "
          f"| {found / len(repeats):.3f} | {p_skip} | {emb:.1%} |")
