#!/usr/bin/env python3
"""Posts for the copy-paste benchmark (bench/copies.sh): a fraction of them copies of one campaign text.

    python3 bench/gen_copies.py --out FILE.csv --posts N --copies FRACTION --shape one|variants|phrases
                                [--accounts A] [--seed S] [--jsonl FILE.jsonl] [--jobs J]

Writes coordination-network-toolkit CSV (message_id,user_id,username,repost_id,reply_id,message,
timestamp,urls; repost_id, reply_id and urls empty), and with --jsonl the same posts as JSON lines of
{"id", "text"} (id = message_id as a string) for `varta dedup`.

- N posts over 14 days from 2024-03-01T00:00:00Z, timestamps uniform (unix seconds, the file in time
  order, message ids increasing), by A accounts chosen uniformly (default max(20000, N/10)).
- floor(N * FRACTION) posts are copies, at random positions (hence random times and accounts):
  - `one`: every copy is exactly the campaign text (a Ukrainian blackout scare of 50 words);
  - `variants`: 20 variants of it, variant i with the word at position i replaced; copy k is variant
    k mod 20, so the copies are spread evenly;
  - `phrases`: no campaign; each copy is one of a pool of 2,000 common sentences (12-25 words), picked
    at random, so each sentence is posted by about N * FRACTION / 2000 accounts.
- The other posts are unrelated: 20-50 words drawn from a 50,000-word vocabulary (60 real Ukrainian
  function words, then pseudo-words of Cyrillic syllables) with Zipf-like frequencies, so two of them
  share almost no word 3-gram (Jaccard far under 0.5).

Deterministic for a given --seed whatever --jobs is: posts are made in chunks of 50,000, each from its
own seeded stream, rendered in parallel and written in order; nothing is held beyond a few chunks.
Standard library only.
"""

import argparse
import csv
import io
import json
import multiprocessing
import os
import random
import sys
import time
from array import array
from fractions import Fraction
from operator import itemgetter

START = 1709251200  # 2024-03-01T00:00:00Z
SPAN = 14 * 24 * 3600
CHUNK = 50_000
VOCAB = 50_000
POOL = 2_000
N_VARIANTS = 20

# A copy-paste post in the style of the 2024 blackout scares: a fake "insider" source, an alarming
# number, the government hiding it, Western aid stolen, a call to stock up and to spread it (50 words).
CAMPAIGN = ("Увага! Джерела в Укренерго повідомляють, що з понеділка графіки відключень світла стануть по "
            "16 годин на добу в усіх областях. Влада мовчить, щоб не було паніки, а гроші західних "
            "партнерів на відновлення енергетики вже розікрали чиновники. Запасайтеся водою, свічками та "
            "павербанками, купуйте генератори, поки ще є. Поширте, поки не видалили!")
# Variant i puts REPLACE[i] at word position i (the word's trailing punctuation is kept).
REPLACE = ["Терміново", "Інсайдери", "з", "Міненерго", "попереджають", "мовляв", "від", "середи",
           "години", "вимкнень", "електроенергії", "будуть", "майже", "18", "год", "за", "день",
           "у", "всіх", "регіонах"]

FUNCTION = """і в на з що не у до за як це та від про але для вже ми ви він вона вони ще так чи
також тільки коли після через який яка які його її їх нас вас цей ця ці все всі буде були було має
можна треба тому бо або навіть дуже де тут там зараз сьогодні""".split()
CONS = "нннннтттттррррвввввкккклллллсссссммммдддддпппзззбббггчччжхццшщфйй"
VOWS = "аааааооооооииииееееіііііуууяяюєї"
ENDS = ["ння", "ний", "на", "ість", "ати", "ого", "ами", "ці", "ок", "ів", "ою", "и", "а", "у", "", "", ""]
FIRST = ["olena", "oksana", "iryna", "natalia", "sofiia", "yulia", "kateryna", "mariia", "olha", "dmytro",
         "andriy", "serhiy", "oleksandr", "taras", "bohdan", "roman", "ihor", "maksym", "volodymyr",
         "yurii", "vasyl", "lesia", "halyna", "viktor", "sergey", "pavel", "marina", "svetlana"]
PUNCT = [",", ",", ",", ".", ".", "!", "?", ":", " —"]


def campaign_variants():
    words = CAMPAIGN.split()
    assert 40 <= len(words) <= 60 and len(REPLACE) == N_VARIANTS
    out = []
    for i, rep in enumerate(REPLACE):
        w = list(words)
        tail = ""
        while w[i] and not w[i][-1].isalnum():
            tail = w[i][-1] + tail
            w[i] = w[i][:-1]
        assert w[i] != rep, (i, rep)
        w[i] = rep + tail
        out.append(" ".join(w))
    return out


class Shared:
    """What every chunk draws from: the vocabulary's sampling table and the sentence pool."""

    def __init__(self, seed):
        rng = random.Random(f"varta-copies:{seed}:shared")
        seen = dict.fromkeys(FUNCTION)
        while len(seen) < VOCAB:
            syl = rng.choice((1, 2, 2, 2, 3, 3, 4))
            w = "".join(rng.choice(CONS) + rng.choice(VOWS) for _ in range(syl)) + rng.choice(ENDS)
            seen.setdefault(w, None)
        vocab = list(seen)
        # Zipf-like: drawing uniformly from a table where each word appears in proportion to its
        # weight (at least once) is several times faster than weighted choices.
        # The table has exactly 2**21 entries, so that 21 random bits index it (see draw()).
        weights = [1.0 / (r + 2.7) ** 1.07 for r in range(len(vocab))]
        total, size = sum(weights), 1 << TABLE_BITS
        table = []
        for word, wt in zip(vocab, weights):
            table.extend([word] * max(1, round(wt / total * size)))
        table = table[:size] + [vocab[-1]] * (size - len(table))
        self.table = table
        self.pool = [sentence(rng, draw(rng, table, k), k) for k in [rng.randint(12, 25) for _ in range(POOL)]]
        self.variants = campaign_variants()


TABLE_BITS = 21
_MASK = bytes(b & ((1 << (TABLE_BITS - 16)) - 1) for b in range(256))


def draw(rng, table, n):
    """n words from the sampling table, as a list; 21 random bits per word.

    Three random bytes and a zero byte make each index (the third byte masked to 5 bits), read as
    native 32-bit integers and looked up by itemgetter: several times faster than rng.choices.
    """
    if n == 0:
        return []
    buf = bytearray(4 * n)
    buf[0::4] = rng.randbytes(n)
    buf[1::4] = rng.randbytes(n)
    buf[2::4] = rng.randbytes(n).translate(_MASK)
    idx = array("I", buf)
    if sys.byteorder == "big":
        idx.byteswap()
    return list(itemgetter(*idx)(table)) if n > 1 else [table[idx[0]]]


def sentence(rng, ws, k):
    """The k words ws (a list, changed) as a post: punctuation every 5-14 words, capitals after stops."""
    r = rng.random  # random() arithmetic rather than randint/choice: this is the hot loop
    i = 5 + int(r() * 10)
    while i < k:
        p = PUNCT[int(r() * len(PUNCT))]
        ws[i - 1] += p
        if p in ".!?":
            ws[i] = ws[i].capitalize()
        i += 5 + int(r() * 10)
    ws[0] = ws[0].capitalize()
    return " ".join(ws) + "."


_SHARED = None
_SEED = None


def _shared(seed):
    global _SHARED, _SEED
    if _SHARED is None or _SEED != seed:  # with "fork" the parent's is inherited as is
        _SHARED, _SEED = Shared(seed), seed
    return _SHARED


def render(job):
    """Posts first..last-1: (CSV bytes, JSON-lines bytes or None, copies in the chunk)."""
    seed, first, last, n, frac, shape, accounts, want_jsonl = job
    sh = _shared(seed)
    rng = random.Random(f"varta-copies:{seed}:{first}")
    num, den = frac.numerator, frac.denominator
    c0 = first * num // den  # copies among posts 0..first-1
    n_copies = last * num // den - c0
    copy_at = dict(zip(sorted(rng.sample(range(first, last), n_copies)), range(c0, c0 + n_copies)))
    t0 = START + first * SPAN // n
    t1 = START + last * SPAN // n
    r = rng.random
    times = sorted(t0 + int(r() * max(1, t1 - t0)) for _ in range(last - first))
    table, pool, variants = sh.table, sh.pool, sh.variants
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    lines = []
    dumps = json.dumps
    lengths = [0 if i in copy_at else 20 + int(r() * 31) for i in range(first, last)]
    words = draw(rng, table, sum(lengths))
    at = 0
    for i in range(first, last):
        k = copy_at.get(i)
        if k is None:
            n_words = lengths[i - first]
            text = sentence(rng, words[at:at + n_words], n_words)
            at += n_words
        elif shape == "one":
            text = CAMPAIGN
        elif shape == "variants":
            text = variants[k % N_VARIANTS]
        else:
            text = pool[int(r() * len(pool))]
        a = int(r() * accounts)
        mid = str(i + 1)
        w.writerow((mid, 10_000_000 + a, f"{FIRST[a * 7919 % len(FIRST)]}_{a}", "", "", text, times[i - first], ""))
        if want_jsonl:  # the texts hold no quote, backslash or control character; dumps() if one did
            lines.append(f'{{"id": "{mid}", "text": "{text}"}}' if text.isprintable() and '"' not in text
                         and "\\" not in text else dumps({"id": mid, "text": text}, ensure_ascii=False))
    jl = ("\n".join(lines) + "\n").encode() if want_jsonl else None
    return buf.getvalue().encode(), jl, n_copies


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="CSV to write (coordination-network-toolkit columns)")
    ap.add_argument("--posts", type=int, required=True)
    ap.add_argument("--copies", required=True, help="fraction of the posts that are copies, 0 to 1")
    ap.add_argument("--shape", choices=("one", "variants", "phrases"), required=True)
    ap.add_argument("--accounts", type=int, help="default max(20000, posts / 10)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jsonl", help='also write the posts as JSON lines of {"id", "text"}')
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    frac = Fraction(a.copies)  # exact: floor(posts * fraction) copies, whatever the float rounding
    if not 0 <= frac <= 1 or a.posts < 1:
        ap.error("--copies must be within 0..1 and --posts positive")
    accounts = a.accounts or max(20000, a.posts // 10)
    started = time.time()
    jobs = [(a.seed, f, min(f + CHUNK, a.posts), a.posts, frac, a.shape, accounts, bool(a.jsonl))
            for f in range(0, a.posts, CHUNK)]
    out = open(a.out, "wb")
    out.write(b"message_id,user_id,username,repost_id,reply_id,message,timestamp,urls\n")
    jl = open(a.jsonl, "wb") if a.jsonl else None
    copies = 0
    if a.jobs > 1 and len(jobs) > 1:
        _shared(a.seed)  # built once, inherited by forked workers
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        with ctx.Pool(a.jobs) as p:
            results = p.imap(render, jobs)
            for c, j, k in results:
                out.write(c)
                if jl:
                    jl.write(j)
                copies += k
    else:
        for job in jobs:
            c, j, k = render(job)
            out.write(c)
            if jl:
                jl.write(j)
            copies += k
    out.close()
    if jl:
        jl.close()
    print(f"{a.posts:,} posts, {copies:,} copies ({a.shape}), {accounts:,} accounts -> {a.out}"
          f" in {time.time() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
