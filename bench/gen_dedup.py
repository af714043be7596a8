#!/usr/bin/env python3
"""Near-duplicate benchmark corpus: posts of 20-200 words built from the (Ukrainian and Russian)
messages of ../shared/eval/coord/dev-20k.csv, and mutated copies of some of them, as copy-paste
campaigns make them: case changes, Latin look-alike letters inside Cyrillic words, punctuation and
emoji noise, inserted hashtags and URLs, sentence reordering, truncation to half, a few words
changed. Deterministic for a seed.

Usage: gen_dedup.py --messages DEV20K.csv --out DOCS.jsonl --docs N [--seed S] [--copy-share 0.3]
Writes {"id", "text"} lines; ids are "d" + a zero-padded number, in random order of kind."""
import argparse, csv, json, random

LOOK = {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "к": "k", "м": "m", "т": "t", "н": "h"}
EMOJI = ["🔥", "😱", "‼️", "⚡", "👇", "🇺🇦", "❗", "😡"]
TAGS = ["#новини", "#терміново", "#Україна", "#правда", "#срочно", "#Киев", "#війна", "#energy"]
URLS = ["https://t.me/news_channel/{}", "https://bit.ly/{}x", "https://example-news.info/a/{}?utm_source=tg", "www.fake-{}.example"]


def base_doc(rng, sentences):
    target = rng.randint(20, 200)
    out, words = [], 0
    while words < target:
        s = rng.choice(sentences)
        out.append(s)
        words += len(s.split())
    return " ".join(out)


def mutate(rng, text):
    ops = rng.sample(["case", "look", "noise", "tags", "reorder", "truncate", "edit"], rng.randint(1, 3))
    for op in ops:
        if op == "case":
            text = rng.choice([str.upper, str.lower, str.title])(text)
        elif op == "look":
            words = text.split(" ")
            for i, w in enumerate(words):
                if len(w) > 2 and rng.random() < 0.4:
                    idx = [k for k, c in enumerate(w) if c in LOOK]
                    if idx:
                        k = rng.choice(idx)
                        words[i] = w[:k] + LOOK[w[k]] + w[k + 1:]
            text = " ".join(words)
        elif op == "noise":
            words = text.split(" ")
            for _ in range(max(1, len(words) // 10)):
                i = rng.randrange(len(words))
                words[i] = words[i] + rng.choice(["!!!", "...", " " + rng.choice(EMOJI), ",", " —"])
            text = " ".join(words)
        elif op == "tags":
            extra = [rng.choice(TAGS) for _ in range(rng.randint(1, 3))]
            extra.append(rng.choice(URLS).format(rng.randint(1, 99999)))
            words = text.split(" ")
            for e in extra:
                words.insert(rng.randrange(len(words) + 1), e)
            text = " ".join(words)
        elif op == "reorder":
            parts = [p for p in text.replace("! ", "!|").replace(". ", ".|").replace("? ", "?|").split("|") if p]
            rng.shuffle(parts)
            text = " ".join(parts)
        elif op == "truncate":
            words = text.split(" ")
            if len(words) >= 40:
                text = " ".join(words[: len(words) // 2])
        elif op == "edit":
            words = text.split(" ")
            for _ in range(max(1, len(words) // 25)):
                i = rng.randrange(len(words))
                words[i] = rng.choice(["нібито", "якобы", "насправді", "офіційно", "срочно"])
            text = " ".join(words)
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--docs", type=int, required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--copy-share", type=float, default=0.3)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    with open(a.messages, encoding="utf-8") as f:
        sentences = sorted({r["message"].strip() for r in csv.DictReader(f) if len(r["message"].split()) >= 3})
    n_copies = int(a.docs * a.copy_share)
    n_base = a.docs - n_copies
    # Campaign sizes are skewed: most originals are copied once or twice, a few many times.
    originals = []
    order = list(range(a.docs))
    rng.shuffle(order)
    with open(a.out, "w", encoding="utf-8") as out:
        made = 0
        for i in range(n_base):
            t = base_doc(rng, sentences)
            if rng.random() < 0.2:
                originals.append(t)
            out.write(json.dumps({"id": f"d{order[made]:08d}", "text": t}, ensure_ascii=False) + "\n")
            made += 1
        weights = [1.0 / (k + 1) ** 0.8 for k in range(len(originals))]
        rng.shuffle(weights)
        for t in rng.choices(originals, weights=weights, k=n_copies):
            out.write(json.dumps({"id": f"d{order[made]:08d}", "text": mutate(rng, t)}, ensure_ascii=False) + "\n")
            made += 1


if __name__ == "__main__":
    main()
