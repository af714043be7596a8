#!/usr/bin/env python3
"""Posts in coordination-network-toolkit's CSV, like ../shared/eval/coord/dev-20k.csv: organic posts
(texts drawn from a message pool, links to news articles, reposts of earlier posts), organic viral
bursts (one article shared by 60-200 accounts within half an hour), and planted coordinated groups
that push the same link, repost or lightly edited text within seconds, several times.

Usage: gen_coord.py --out FILE.csv --rows N [--messages dev-20k.csv] [--seed S] [--truth TRUTH.json] [--days D]
--viral-tail: organic virality with a heavy tail (a few links shared by thousands), as real collections
have it; off, every burst has dev-20k's 130 sharers.
--days: the span of the collection. dev-20k covers 14 days; the benchmark keeps that span as rows grow
(a bigger collection of the same fortnight, so links are shared by more accounts at once, which is what
makes the peer slow). Without it the span grows with the rows, 14 days per 20,000, and density stays at
dev-20k's (how the repo's fixture coord-sample.csv was made: --rows 3000 --seed 5).
Without --messages, sentences of random words from a small built-in Ukrainian/Russian vocabulary.
Deterministic for a given seed. Rows are held in memory to be shuffled (10M rows: about 3 GB).
"""
import argparse, csv, json, random

BUILTIN = [
    "Уряд оголосив нові правила для підприємців з наступного місяця.",
    "Правительство объявило новые правила для предпринимателей со следующего месяца.",
    "У місті відкрили новий міст через річку, рух уже запущено.",
    "В городе открыли новый мост через реку, движение уже запущено.",
    "Синоптики обіцяють дощі та похолодання до кінця тижня.",
    "Синоптики обещают дожди и похолодание до конца недели.",
    "Експерти радять перевіряти джерела, перш ніж поширювати новини.",
    "Эксперты советуют проверять источники, прежде чем распространять новости.",
    "Волонтери зібрали кошти на обладнання для лікарні.",
    "Волонтеры собрали средства на оборудование для больницы.",
    "Нова версія застосунку виправляє помилки та додає темну тему.",
    "Новая версия приложения исправляет ошибки и добавляет тёмную тему.",
]


def mutate(rng, text):
    """A light edit as planted groups make them: case, a Latin look-alike, a dropped or added word."""
    r = rng.random()
    words = text.split()
    if r < 0.2:
        return text.upper()
    if r < 0.4:
        return text.replace("а", "a").replace("о", "o").replace("е", "e")
    if r < 0.6 and len(words) > 4:
        del words[rng.randrange(len(words))]
        return " ".join(words)
    if r < 0.8:
        words.insert(rng.randrange(len(words) + 1), rng.choice(["терміново", "срочно", "увага", "!"]))
        return " ".join(words)
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--messages")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--truth")
    ap.add_argument("--days", type=float)
    ap.add_argument("--viral-tail", action="store_true")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    # Without --messages: sentences of random words, so that organic texts rarely repeat.
    vocab = " ".join(BUILTIN).replace(".", "").replace(",", "").split()
    pool = [" ".join(rng.choice(vocab) for _ in range(rng.randint(8, 16))) + "." for _ in range(5000)]
    if a.messages:
        with open(a.messages, encoding="utf-8") as f:
            pool = [r["message"] for r in csv.DictReader(f) if r["message"].strip() and len(r["message"]) < 400]
        pool = sorted(set(pool))
    n = a.rows
    users = max(50, n // 8)
    days = a.days if a.days else max(1.0, n / 20000 * 14)
    t0 = 1730000000
    span = int(days * 86400)
    # Planted groups: about one member in 25 accounts belongs to one.
    n_groups = max(1, users // 160)
    groups = []
    for g in range(n_groups):
        size = rng.randint(6, 20)
        members = rng.sample(range(users), size)
        style = rng.choice(["text", "text", "link", "repost"])
        pushes = rng.randint(2, 6)
        jitter = rng.choice([5, 20, 45]) if style == "text" else 5
        groups.append({"group": g, "style": style, "members": [f"u{m}" for m in members], "pushes": pushes, "jitter_s": jitter})
    events = []  # (time, user, kind, payload)
    planted_rows = sum(len(g["members"]) * g["pushes"] for g in groups)
    viral = max(1, n // 4000)
    # Burst sizes: 130 sharers each, as in dev-20k; with --viral-tail, Zipf-like (the i-th largest of
    # n/50/i sharers, at least 130, at most half the accounts) and spread over longer as they grow.
    sizes = [130] * viral
    if a.viral_tail:
        sizes = [min(users // 2, max(130, n // 50 // (i + 1))) for i in range(viral)]
    viral_rows = sum(sizes)
    organic = max(0, n - planted_rows - viral_rows)
    out = open(a.out, "w", encoding="utf-8", newline="")
    w = csv.writer(out)
    w.writerow(["message_id", "user_id", "username", "repost_id", "reply_id", "message", "timestamp", "urls"])
    rows = []
    mid = 0

    def emit(t, u, repost, text, urls):
        nonlocal mid
        rows.append((t, mid, u, repost, text, urls))
        mid += 1

    for _ in range(organic):
        t = t0 + rng.randrange(span)
        u = rng.randrange(users)
        r = rng.random()
        if r < 0.18 and mid > 0:
            emit(t, f"u{u}", str(rng.randrange(mid)), "", "")
        else:
            urls = f"https://news{min(int(rng.expovariate(0.5)), 400)}.example/article/{rng.randrange(20000)}" if r < 0.7 else ""
            emit(t, f"u{u}", "", rng.choice(pool), urls)
    for size in sizes:
        start = t0 + rng.randrange(span)
        url = f"https://news{rng.randrange(3)}.example/article/{rng.randrange(20000)}"
        sharers = rng.sample(range(users), min(users, size))
        spread = 600 * (size / 130) ** 0.5
        for u in sharers:
            emit(start + int(rng.expovariate(1 / spread)), f"u{u}", "", rng.choice(pool), url)
    for g in groups:
        for p in range(g["pushes"]):
            start = t0 + rng.randrange(span)
            text = rng.choice(pool)
            target = str(rng.randrange(max(1, mid)))
            url = f"https://news{300 + g['group'] % 100}.example/p/{rng.randrange(10**7)}"
            for u in g["members"]:
                t = start + rng.randint(0, g["jitter_s"])
                if g["style"] == "text":
                    emit(t, u, "", mutate(rng, text), "")
                elif g["style"] == "link":
                    emit(t, u, "", rng.choice(pool), url)
                else:
                    emit(t, u, target, "", "")
    rng.shuffle(rows)
    for t, m, u, repost, text, urls in rows:
        w.writerow([m, u, "user_" + u[1:], repost, "", text, t, urls])
    out.close()
    if a.truth:
        with open(a.truth, "w") as f:
            json.dump({"rows": len(rows), "seed": a.seed, "groups": groups}, f)


if __name__ == "__main__":
    main()
