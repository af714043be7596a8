#!/usr/bin/env python3
"""Realistic coordination data for scoring `varta coord`: organic posts with heavy-tailed activity and
popularity, organic viral bursts and retweet waves, and planted coordinated groups ("operations") that
hide among them, in coordination-network-toolkit's CSV
(message_id,user_id,username,repost_id,reply_id,message,timestamp,urls), with a truth JSON.

Usage: gen_ops.py --out FILE.csv [--truth TRUTH.json] [--seed S] [--density D] [--rows N]
                  [--shared F] [--days 14]

Scale. Density 1 is dev-20k's: 20,000 posts over 14 days by 2,500 accounts. --density D multiplies the
posts per day by D and the accounts by sqrt(D), so each account's activity also grows by sqrt(D)
(D=10: 200,000 posts by 7,906 accounts, 25 posts each on average). --rows overrides the number of posts
(the accounts still follow --density); planted pushes, slogans and bursts have fixed sizes, so it fails
when they would leave less than 30% of the rows organic (e.g. --rows 5000 at density 1).
Planted groups: accounts // 160 of them (15 at density 1, 27 at 3, 49 at 10).

Planted groups. Size uniform 5-25; per group a jitter uniform 5-45 s (each member posts at push start +
uniform integer 0..jitter) and 2-6 pushes; in each push each member skips with probability 0.15 (at least
3 members take part). Push starts follow the day's rhythm (fewer at night) over the span.
--shared F (default 0.18): groups are paired at random (an odd one out pairs with a random other group,
which then has two partners); a pair shares round(F * mean size) accounts (at most size - 2 of either),
which are members of both groups and take part in both groups' pushes. Styles are dealt round-robin
from a shuffled [text, link, repost], so about a third each:
  text:   each push posts one slogan from a pool of common sentences (max(20, 1.3 x text pushes) of them,
          drawn with replacement) which 30-150 organic accounts each ALSO post at random times over the
          span (half of those copies lightly edited). Each member's copy is lightly edited: unchanged
          (15%), else one (70%) or two of upper case, Latin look-alikes for Cyrillic letters, a word dropped,
          a word changed, an emoji appended, a hashtag appended.
  link:   one URL per push, each member with its own caption. Half the pushes (the odd one at random) a
          link to the group's own site; the other half a popular news article which an organic burst
          (20-200 accounts within 5-30 min) also shares, starting within 3 h either side of the push.
  repost: one post reposted per push. 60% of pushes: a popular post (by an organic account, posted
          10 min-3 h before the push) which 30-200 organic accounts also repost over 1-4 h (a retweet
          mobilisation); 40%: a post one participating member writes 30-900 s before the others repost.

Organic background (all accounts, members included): activity weights Pareto(1.6) capped at 60 (a few
accounts post a lot); times follow a day/night rhythm. Of the organic posts: 20% reposts (half of them
preferential attachment: a post drawn in proportion to the reposts it had in the last 24 h, if it is
under two days old; else, and for the other half, a recent post, about 12 h back), 40% a fresh random
sentence with a news link, 37% a fresh random sentence (10% with a common hashtag), 3% a short common
phrase ("Дякую!", "+1"). Sentences are 6-18 words drawn from a mixed uk/ru/en vocabulary, so they
practically never repeat; only slogans and short phrases do. News links: a catalogue of link_posts/3
articles with Pareto(1.6) popularity, each published at a random time and shared within about 10 h of
it (exponential; 70% of shares) or at any time (30%).
Viral bursts: rows // 4000 of them (at least 1), 20-200 accounts within 5-30 min (front-loaded), 60%
sharing one new news link, 40% reposting one new post. At density >= 3 also int(D // 3) big repost
waves: 1,000-2,500 accounts (at most half of them) reposting one post over 2-6 h.

Timestamps are integer epoch seconds from 1730000000; message ids follow time order; rows are shuffled;
user ids u<n>, usernames user_<n>. Deterministic for a seed. Truth: {"rows", "seed", "density",
"accounts", "shared", "groups": [{"group", "style", "members", "pushes", "jitter_s", "shared_with",
"push_kinds"}], "viral": [{"size", "start", "spread_s", "kind", "group"}]} (group: the planted group
whose push the burst accompanies, or null).
"""
import argparse, bisect, csv, json, math, random

T0 = 1730000000
BUILTIN = [
    "Уряд оголосив нові правила для підприємців з наступного місяця.",
    "У місті відкрили новий міст через річку, рух уже запущено.",
    "Синоптики обіцяють дощі та похолодання до кінця тижня.",
    "Експерти радять перевіряти джерела, перш ніж поширювати новини.",
    "Волонтери зібрали кошти на обладнання для лікарні.",
    "Нова версія застосунку виправляє помилки та додає темну тему.",
    "Депутати знову не змогли ухвалити бюджет на засіданні комітету.",
    "Енергетики попереджають про можливі відключення світла ввечері.",
    "Правительство объявило новые правила для предпринимателей со следующего месяца.",
    "В городе открыли новый мост через реку, движение уже запущено.",
    "Синоптики обещают дожди и похолодание до конца недели.",
    "Эксперты советуют проверять источники, прежде чем распространять новости.",
    "Волонтеры собрали средства на оборудование для больницы.",
    "Новая версия приложения исправляет ошибки и добавляет тёмную тему.",
    "Цены на продукты снова выросли, люди обсуждают это в очередях.",
    "Журналисты нашли документы о закупках по завышенным ценам.",
    "The government announced new rules for small businesses starting next month.",
    "Volunteers raised money for hospital equipment in just three days.",
    "Experts advise checking sources before sharing breaking news online.",
    "The new bridge over the river opened and traffic is already moving.",
    "Forecasters expect rain and colder weather until the end of the week.",
    "Officials deny the report but refuse to publish the original documents.",
]
PHRASES = ["Дякую!", "Згоден.", "Так і є.", "+1", "Ганьба!", "Слава Україні!", "Героям слава!", "Жах.",
           "Нарешті!", "Підтримую.", "Спасибо!", "Согласен.", "Так и есть.", "Позор!", "Ужас.", "Наконец-то!",
           "Agreed.", "Thanks!", "This.", "Exactly.", "👍", "🔥🔥🔥", "💙💛", "😂😂", "Why?", "Wow."]
HASHTAGS = ["#новини", "#Україна", "#Київ", "#війна", "#новости", "#Украина", "#news", "#Ukraine",
            "#економіка", "#политика", "#правда", "#зрада", "#перемога", "#fakenews"]
EMOJI = ["🔥", "‼️", "👇", "🇺🇦", "😡", "💯", "❗", "👉", "🙏"]
LOOKALIKE = str.maketrans("аеорсхуіАВЕКМНОРСТХІ", "aeopcxyiABEKMHOPCTXI")
# Relative posting rate per hour of the day (UTC; the audience is UTC+2): low at night, high evenings.
HOURLY = [0.9, 0.6, 0.35, 0.2, 0.15, 0.2, 0.35, 0.6, 0.85, 1.0, 1.0, 1.0,
          1.0, 1.05, 1.05, 1.1, 1.2, 1.35, 1.5, 1.5, 1.4, 1.2, 1.1, 1.0]


class Gen:
    def __init__(self, a):
        self.rng = rng = random.Random(a.seed)
        self.a = a
        self.density = a.density
        self.rows_target = a.rows if a.rows else round(20000 * a.density)
        self.users = max(60, round(2500 * math.sqrt(a.density)))
        self.span = int(a.days * 86400)
        self.end = T0 + self.span
        vocab = set()
        for s in BUILTIN:
            for w in s.replace(".", " ").replace(",", " ").split():
                vocab.add(w.lower())
        self.vocab = sorted(vocab)
        self.hour_cum = list(_cum(HOURLY))
        # Activity weights, heavy tailed: a few accounts post a lot.
        self.user_cum = list(_cum(min(60.0, rng.paretovariate(1.6)) for _ in range(self.users)))
        self.rows = []  # [time, key, user, repost_key or None, text, url]
        self.article = 0  # counter for unique news-article ids outside the catalogue

    # --- helpers -------------------------------------------------------------------------------------
    def rand_time(self, lo=None, hi=None):
        """A time in [lo, hi) (default the whole span) following the day's rhythm."""
        rng = self.rng
        lo = T0 if lo is None else lo
        hi = self.end if hi is None else hi
        for _ in range(50):
            day = rng.randrange(max(1, math.ceil((hi - T0) / 86400)))
            hour = bisect.bisect_right(self.hour_cum, rng.random() * self.hour_cum[-1])
            t = T0 + day * 86400 + hour * 3600 + rng.randrange(3600)
            if lo <= t < hi:
                return t
        return rng.randrange(lo, hi)

    def active_user(self):
        return bisect.bisect_right(self.user_cum, self.rng.random() * self.user_cum[-1])

    def sentence(self):
        rng = self.rng
        words = [rng.choice(self.vocab) for _ in range(rng.randint(6, 18))]
        return words[0].capitalize() + " " + " ".join(words[1:]) + rng.choice([".", ".", ".", "!", "?"])

    def news_url(self):
        self.article += 1
        return f"https://news{self.rng.randrange(3)}.example/article/{100000 + self.article}"

    def clip(self, t):
        return min(max(int(t), T0), self.end - 1)

    def emit(self, t, user, text="", url="", repost=None):
        key = len(self.rows)
        self.rows.append([self.clip(t), key, user, repost, text, url])
        return key

    def mutate(self, text, keep=0.15):
        """A light edit as operators make them: one or two of case, look-alikes, a word dropped or changed,
        an emoji or a hashtag appended; unchanged with probability `keep`."""
        rng = self.rng
        if rng.random() < keep:
            return text
        for _ in range(2 if rng.random() < 0.3 else 1):
            words = text.split()
            k = rng.randrange(6)
            if k == 0:
                text = text.upper()
            elif k == 1:
                text = "".join(c.translate(LOOKALIKE) if rng.random() < 0.6 else c for c in text)
            elif k == 2 and len(words) > 3:
                del words[rng.randrange(len(words))]
                text = " ".join(words)
            elif k == 3:
                words[rng.randrange(len(words))] = rng.choice(self.vocab)
                text = " ".join(words)
            elif k == 4:
                text = text + " " + rng.choice(EMOJI)
            else:
                text = text + " " + rng.choice(HASHTAGS)
        return text

    # --- planted groups ------------------------------------------------------------------------------
    def plant(self):
        rng, a = self.rng, self.a
        n = max(1, self.users // 160)
        sizes = [rng.randint(5, 25) for _ in range(n)]
        styles = ["text", "link", "repost"]
        rng.shuffle(styles)
        partners = [[] for _ in range(n)]
        shared = [[] for _ in range(n)]  # shared accounts per group, by pair
        pool = list(range(self.users))
        rng.shuffle(pool)
        if a.shared > 0 and n >= 2:
            order = list(range(n))
            rng.shuffle(order)
            pairs = [(order[i], order[i + 1]) for i in range(0, n - 1, 2)]
            if n % 2:
                pairs.append((order[-1], rng.choice(order[:-1])))
            for x, y in pairs:
                k = round(a.shared * (sizes[x] + sizes[y]) / 2)
                k = max(0, min(k, sizes[x] - 2 - len(shared[x]), sizes[y] - 2 - len(shared[y])))
                if k == 0:
                    continue
                accts = [pool.pop() for _ in range(k)]
                shared[x] += accts
                shared[y] += accts
                partners[x].append(y)
                partners[y].append(x)
        groups = []
        for g in range(n):
            members = shared[g] + [pool.pop() for _ in range(sizes[g] - len(shared[g]))]
            rng.shuffle(members)
            groups.append({"group": g, "style": styles[g % 3], "members": members,
                           "pushes": rng.randint(2, 6), "jitter_s": rng.randint(5, 45),
                           "shared_with": sorted(partners[g])})
        return groups

    def participants(self, members):
        rng = self.rng
        take = [m for m in members if rng.random() >= 0.15]
        if len(take) < 3:
            rest = [m for m in members if m not in take]
            rng.shuffle(rest)
            take += rest[:3 - len(take)]
        return take

    def burst(self, start, size, spread, shape, exclude=()):
        """`size` organic accounts within `spread` seconds of `start`: their times, front-loaded."""
        rng = self.rng
        ex = set(exclude)
        cands = [u for u in rng.sample(range(self.users), min(self.users, size + len(ex))) if u not in ex]
        out = []
        for u in cands[:size]:
            if shape == "exp":  # a wave over hours: exponential of rate 3/spread, truncated at spread
                d = -math.log(1 - rng.random() * (1 - math.exp(-3))) * spread / 3
            else:
                d = spread * rng.random() ** 1.5
            out.append((start + int(d), u))
        return out

    def run(self):
        rng = self.rng
        groups = self.plant()
        viral = []
        margin = 6 * 3600
        # Slogans for text groups: common sentences that organic accounts also post.
        text_pushes = sum(g["pushes"] for g in groups if g["style"] == "text")
        n_slogans = max(20, math.ceil(1.3 * text_pushes))
        slogans = []
        seen = set()
        while len(slogans) < n_slogans:
            words = [rng.choice(self.vocab) for _ in range(rng.randint(4, 9))]
            s = words[0].capitalize() + " " + " ".join(words[1:]) + rng.choice(["!", "!", "."])
            if rng.random() < 0.3:
                s += " " + rng.choice(HASHTAGS)
            if s not in seen:
                seen.add(s)
                slogans.append(s)
        for s in slogans:
            for u in rng.sample(range(self.users), min(self.users, rng.randint(30, 150))):
                self.emit(self.rand_time(), u, self.mutate(s, keep=0.5))
        # Pushes.
        for g in groups:
            style, jit = g["style"], g["jitter_s"]
            kinds = []
            if style == "link":
                half = g["pushes"] // 2 + (g["pushes"] % 2 if rng.random() < 0.5 else 0)
                kinds = ["news"] * half + ["own"] * (g["pushes"] - half)
                rng.shuffle(kinds)
            elif style == "repost":
                kinds = ["popular" if rng.random() < 0.6 else "member" for _ in range(g["pushes"])]
            else:
                kinds = ["slogan"] * g["pushes"]
            g["push_kinds"] = kinds
            for kind in kinds:
                start = self.rand_time(T0 + margin, self.end - margin)
                who = self.participants(g["members"])
                if kind == "slogan":
                    text = rng.choice(slogans)
                    for u in who:
                        self.emit(start + rng.randint(0, jit), u, self.mutate(text))
                elif kind == "own":
                    url = f"https://site{g['group']}.example/p/{rng.randrange(10**7)}"
                    for u in who:
                        self.emit(start + rng.randint(0, jit), u, self.sentence(), url)
                elif kind == "news":
                    url = self.news_url()
                    size, spread = rng.randint(20, 200), rng.randint(300, 1800)
                    bstart = start + rng.randint(-3 * 3600, 3 * 3600)
                    for t, u in self.burst(bstart, size, spread, "front", who):
                        self.emit(t, u, self.sentence(), url)
                    viral.append({"size": size, "start": self.clip(bstart), "spread_s": spread, "kind": "link",
                                  "group": g["group"]})
                    for u in who:
                        self.emit(start + rng.randint(0, jit), u, self.sentence(), url)
                elif kind == "popular":
                    t_orig = start - rng.randint(600, 3 * 3600)
                    author = self.active_user()
                    while author in g["members"]:
                        author = self.active_user()
                    orig = self.emit(t_orig, author, self.sentence())
                    size, spread = rng.randint(30, 200), rng.randint(3600, 4 * 3600)
                    for t, u in self.burst(t_orig + 30, size, spread, "exp", who + [author]):
                        self.emit(t, u, repost=orig)
                    viral.append({"size": size, "start": self.clip(t_orig), "spread_s": spread, "kind": "repost",
                                  "group": g["group"]})
                    for u in who:
                        self.emit(start + rng.randint(0, jit), u, repost=orig)
                else:  # member: one participant writes, the others repost it
                    author = who[0]
                    orig = self.emit(start - rng.randint(30, 900), author, self.sentence())
                    for u in who[1:]:
                        self.emit(start + rng.randint(0, jit), u, repost=orig)
        # Organic viral bursts, and big repost waves at density >= 3.
        for _ in range(max(1, self.rows_target // 4000)):
            size, spread = rng.randint(20, 200), rng.randint(300, 1800)
            start = self.rand_time(T0 + 3600, self.end - 3600)
            if rng.random() < 0.6:
                url = self.news_url()
                for t, u in self.burst(start, size, spread, "front"):
                    self.emit(t, u, self.sentence(), url)
                kind = "link"
            else:
                author = self.active_user()
                orig = self.emit(start - rng.randint(60, 1800), author, self.sentence())
                for t, u in self.burst(start, size, spread, "front", [author]):
                    self.emit(t, u, repost=orig)
                kind = "repost"
            viral.append({"size": size, "start": start, "spread_s": spread, "kind": kind, "group": None})
        if self.density >= 3:
            for _ in range(int(self.density // 3)):
                size = rng.randint(1000, max(1000, min(2500, self.users // 2)))
                size = min(size, self.users - 1)
                spread = rng.randint(2 * 3600, 6 * 3600)
                start = self.rand_time(T0 + 3600, self.end - spread)
                author = self.active_user()
                orig = self.emit(start - rng.randint(60, 600), author, self.sentence())
                for t, u in self.burst(start, size, spread, "front", [author]):
                    self.emit(t, u, repost=orig)
                viral.append({"size": size, "start": start, "spread_s": spread, "kind": "big-repost", "group": None})
        # Organic background fills the rest.
        organic = self.rows_target - len(self.rows)
        if organic < 0.3 * self.rows_target:
            raise SystemExit(f"gen_ops: only {max(0, organic)} organic rows left of {self.rows_target}; "
                             "raise --rows or lower the density")
        self.organic(organic)
        return groups, viral

    def organic(self, n):
        rng = self.rng
        n_repost = round(n * 0.20)
        n_link = round(n * 0.40)
        n_phrase = round(n * 0.03)
        n_text = n - n_repost - n_link - n_phrase
        for _ in range(n_phrase):
            self.emit(self.rand_time(), self.active_user(), rng.choice(PHRASES))
        for _ in range(n_text):
            s = self.sentence()
            if rng.random() < 0.1:
                s += " " + rng.choice(HASHTAGS)
            self.emit(self.rand_time(), self.active_user(), s)
        # News links: a catalogue with heavy-tailed popularity, shared mostly soon after publication.
        cat = max(100, n_link // 3)
        cum = list(_cum(rng.paretovariate(1.6) for _ in range(cat)))
        pub = [self.rand_time() for _ in range(cat)]
        dom = [min(int(rng.expovariate(0.3)), 300) for _ in range(cat)]
        for _ in range(n_link):
            i = bisect.bisect_right(cum, rng.random() * cum[-1])
            t = pub[i] + rng.expovariate(1 / 36000) if rng.random() < 0.7 else self.rand_time()
            if t >= self.end:
                t = self.rand_time()
            self.emit(t, self.active_user(), self.sentence(), f"https://news{dom[i]}.example/article/{i}")
        # Reposts, in time order: half preferential attachment, half a recent original.
        originals = sorted((r[0], r[1]) for r in self.rows if r[3] is None)
        otimes = [t for t, _ in originals]
        recent = max(1.0, len(originals) / self.span * 12 * 3600)
        # One entry per repost so far: drawing from its last day is preferential attachment with ageing.
        targets, ttimes = [], []
        for t in sorted(self.rand_time() for _ in range(n_repost)):
            user = self.active_user()
            j = bisect.bisect_left(otimes, t)
            if j == 0:
                self.emit(t, user, self.sentence())
                continue
            k = bisect.bisect_left(ttimes, t - 86400)
            key = None
            if k < len(targets) and rng.random() < 0.5:
                key = targets[rng.randrange(k, len(targets))]
                if self.rows[key][0] < t - 2 * 86400:  # posts age: none is reposted after two days
                    key = None
            if key is None:
                i = j - 1 - int(rng.expovariate(1 / recent))
                key = originals[i if i >= 0 else rng.randrange(j)][1]
            targets.append(key)
            ttimes.append(t)
            self.emit(t, user, repost=key)


def _cum(weights):
    s = 0.0
    for w in weights:
        s += w
        yield s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--truth")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--density", type=float, default=1.0)
    ap.add_argument("--rows", type=int)
    ap.add_argument("--shared", type=float, default=0.18)
    ap.add_argument("--days", type=float, default=14.0)
    a = ap.parse_args()
    gen = Gen(a)
    groups, viral = gen.run()
    rows = gen.rows
    # Message ids in time order (as platforms assign them), so a repost always comes after its post.
    rows.sort(key=lambda r: (r[0], r[1]))
    mid = {}
    for i, r in enumerate(rows):
        mid[r[1]] = i + 1
    gen.rng.shuffle(rows)
    with open(a.out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["message_id", "user_id", "username", "repost_id", "reply_id", "message", "timestamp", "urls"])
        for t, key, u, rep, text, url in rows:
            w.writerow([mid[key], f"u{u}", f"user_{u}", "" if rep is None else mid[rep], "", text, t, url])
    if a.truth:
        for g in groups:
            g["members"] = [f"u{m}" for m in g["members"]]
        with open(a.truth, "w", encoding="utf-8") as f:
            json.dump({"rows": len(rows), "seed": a.seed, "density": a.density, "accounts": gen.users,
                       "shared": a.shared, "groups": groups, "viral": viral}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
