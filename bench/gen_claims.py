#!/usr/bin/env python3
"""Claims and posts for the claim-matching speed benchmark (issue 6): N claims as a ClaimReview JSON-LD
array and M posts as generic JSONL ({"id", "text", "author", "date"}), from the messages of
../shared/eval/coord/dev-20k.csv (Ukrainian, Russian, English). A claim joins two messages of one half;
a post joins two or three of the other half, and one post in `--repeat-every` repeats a claim with a light edit (case, a dropped
word, an added "терміново"/"срочно"/"BREAKING"), so that matching has work to do; such a post carries
the claim's url as "claim_url" (null on the others), which ingest ignores and bench/gate.sh reads.

Usage: gen_claims.py --messages dev-20k.csv --claims N --posts M --out-claims C.json --out-posts P.jsonl [--seed S]
"""
import argparse, csv, json, random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", required=True)
    ap.add_argument("--claims", type=int, default=10000)
    ap.add_argument("--posts", type=int, default=100000)
    ap.add_argument("--repeat-every", type=int, default=50)
    ap.add_argument("--out-claims", required=True)
    ap.add_argument("--out-posts", required=True)
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    with open(a.messages, encoding="utf-8") as f:
        pool = sorted({r["message"].strip() for r in csv.DictReader(f) if 20 <= len(r["message"].strip()) <= 300})
    # Claims and ordinary posts come from disjoint halves of the messages: a post that does not
    # repeat a claim shares only common words with the claims, as in a real stream.
    # dev-20k holds lightly edited copies of some messages; keep one message per opening.
    by_opening = {}
    for m in pool:
        key = " ".join("".join(c for c in w.lower() if c.isalnum()) for w in m.split()[:3])
        by_opening.setdefault(key, m)
    pool = sorted(by_opening.values())
    rng.shuffle(pool)
    claim_pool, post_pool = pool[: len(pool) // 2], pool[len(pool) // 2 :]
    claims = []
    for i in range(a.claims):
        text = " ".join(rng.sample(claim_pool, 2))
        claims.append({
            "@context": "https://schema.org", "@type": "ClaimReview",
            "url": f"https://factcheck.example/c/{i}", "datePublished": "2024-01-01",
            "author": {"@type": "Organization", "name": "Bench Checks"},
            "claimReviewed": text,
            "reviewRating": {"@type": "Rating", "ratingValue": 1, "alternateName": "False"},
        })
    with open(a.out_claims, "w", encoding="utf-8") as f:
        json.dump(claims, f, ensure_ascii=False)
    with open(a.out_posts, "w", encoding="utf-8") as f:
        for i in range(a.posts):
            claim_url = None
            if i % a.repeat_every == 0:
                claim = rng.choice(claims)
                claim_url = claim["url"]
                words = claim["claimReviewed"].split()
                r = rng.random()
                if r < 0.3:
                    words = [w.upper() for w in words]
                elif r < 0.6 and len(words) > 5:
                    del words[rng.randrange(len(words))]
                else:
                    words.insert(0, rng.choice(["ТЕРМІНОВО!", "Срочно:", "BREAKING:"]))
                text = " ".join(words)
            else:
                text = " ".join(rng.sample(post_pool, rng.randint(2, 3)))
            f.write(json.dumps({"id": f"p{i}", "text": text, "author": f"a{i % 5000}",
                                "date": f"2024-03-{1 + i % 28:02d}T12:00:00Z", "claim_url": claim_url},
                               ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
