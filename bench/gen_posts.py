#!/usr/bin/env python3
"""Synthetic benchmark corpus for Varta: posts in three formats plus a folder of HTML pages.

    python3 bench/gen_posts.py --out DIR [--posts 1000000] [--seed 1] [--pages 2000] [--jobs N]

Writes
    DIR/posts.cnt.csv          coordination-network-toolkit CSV (message_id,user_id,username,repost_id,
                               reply_id,message,timestamp,urls)
    DIR/telegram/result.json   one Telegram Desktop channel export (string and array `text`, entities)
    DIR/posts.x.jsonl          X API v2 search pages, 100 tweets a line, with includes.users
    DIR/pages/                 HTML pages (several templates, boilerplate, 300-1500 words; some
                               windows-1251, some .html.gz, nested folders)

The three post files carry the same N posts (same texts, authors and times), so ingest speed can be
compared across formats and counts checked against each other. Text is a Ukrainian/Russian/English mix
drawn from a Zipf-distributed vocabulary: hand-written real words and fixed phrases (what
bench/queries.txt searches for) plus a long tail of generated pseudo-words. Posts carry links with
tracking noise (~30%), hashtags, mentions, reposts, replies, Ukrainian apostrophe variants, the odd
Latin look-alike letter, and small copy-paste bursts by groups of accounts, over 30 days of February 2024.

Deterministic for a given --seed: posts are generated in fixed-size chunks, each from its own seeded
stream, so the bytes do not depend on --jobs (chunks only render in parallel). Replies and reposts
point within a chunk. Standard library only. Speed: about 1M posts (x3 formats) plus 2,000 pages in
under two minutes on two cores.

Shape notes: the Telegram file is written compactly (one message per line) rather than indented like
Telegram Desktop does, because the indenting encoder is several times slower; the JSON shape is the same.
X pages run oldest to newest (the real API returns newest first); `meta.newest_id`/`oldest_id` match.
"""

import argparse
import csv
import gzip
import io
import json
import os
import random
import sys
import time

# --------------------------------------------------------------------------------------------------
# Vocabulary. Real words are listed roughly from frequent to rare; the rare tail is placed deep in the
# Zipf ranking so that some queries are rare. "'" in Ukrainian words is swapped per post for ’ or ʼ.
# --------------------------------------------------------------------------------------------------

UK_FUNCTION = """і в на з що не у до за як це та від про але для вже ми ви він вона вони ще так чи
також тільки коли після через який яка які його її їх нас вас цей ця ці все всі буде були було має
можна треба тому бо або навіть дуже де тут там зараз сьогодні вчора завтра більше менше""".split()
UK_TOPIC = """Україна України Київ Києві Харків Одеса Дніпро Львів Запоріжжя Миколаїв Херсон Чернігів Суми
Полтава Вінниця енергетика енергосистема електроенергія світло відключення графік графіки
Укренерго підстанція генератор павербанк мережа імпорт споживачі тривога укриття обстріл атака
ракета дрон ППО вибори виборів ЦВК президент Рада депутати закон законопроєкт Конституція
легітимність мобілізація мобілізаційний ТЦК відстрочка повістка військові ЗСУ фронт армія
допомога допомоги пакет транш санкції партнери США ЄС НАТО Конгрес Сенат мільярдів гривень
фейк фейки дезінформація пропаганда перевірка спростування джерело джерела канал канали
телеграм новини журналісти мешканці волонтери лікарня школа вода газ тепло опалення бензин
ціни зарплати пенсії економіка бюджет уряд міністр Міненерго Мінфін Міноборони суд поліція
кіберполіція шахраї паніка наслідки відновлення ремонт енергетики інфраструктура трансформатор
зв'язок п'ять дев'ять об'єкт пам'ять інтерв'ю з'явився прем'єр м'ясо сім'я""".split()
UK_RARE = """гідроакумулююча когенерація стабілізаційні диспетчеризація балансування нормативка
перевізник радіорелейний електрокар розподільчих деокупація ревізійна інвентаризація
бюлетень дільничні прифронтових відбудова кошторис теплопостачання водоканал""".split()
UK_PHRASES = ["енергетична безпека", "західна допомога", "мобілізаційний вік", "воєнний стан",
              "графік відключень", "пакет допомоги", "Укренерго спростувало", "вибори під час війни",
              "блокування SIM-карток", "16 годин без світла", "поширте поки не видалили",
              "джерело в ОП", "теплова генерація", "імпорт електроенергії", "обласні енергокомпанії",
              "законопроєкт про мобілізацію", "гуманітарна допомога", "повітряна тривога",
              "інформаційна атака", "російська пропаганда"]

RU_FUNCTION = """и в на с что не у к за как это от о но для уже мы вы он она они еще так ли
также только когда после через который которая которые его ее их нас вас этот эта эти все будет
были было есть можно нужно поэтому потому или даже очень где здесь там сейчас сегодня вчера
завтра больше меньше""".split()
RU_TOPIC = """Украина Украины Киев Киеве Харьков Одесса Днепр Львов Запорожье Николаев Херсон Москва
Россия России энергетика энергосистема электричество свет отключения график графики Укрэнерго
подстанция генератор пауэрбанк сеть импорт потребители тревога укрытие обстрел атака ракета
дрон ПВО выборы выборов ЦИК президент Рада депутаты закон законопроект Конституция
легитимность мобилизация мобилизационный ТЦК отсрочка повестка военные ВСУ фронт армия помощь
помощи пакет транш санкции партнеры США ЕС НАТО Конгресс Сенат миллиардов долларов фейк фейки
дезинформация пропаганда проверка опровержение источник источники канал каналы телеграм
новости журналисты жители волонтеры больница школа вода газ тепло отопление бензин цены
зарплаты пенсии экономика бюджет правительство министр суд полиция мошенники паника
последствия восстановление ремонт инфраструктура трансформатор чиновники коррупция Запад
кураторы режим""".split()
RU_RARE = """гидроаккумулирующая когенерация стабилизационные диспетчеризация балансировка
распределительных деоккупация инвентаризация бюллетень прифронтовых восстановительных смета
теплоснабжение водоканал""".split()
RU_PHRASES = ["энергетическая безопасность", "западная помощь", "мобилизационный возраст",
              "военное положение", "график отключений", "пакет помощи", "Укрэнерго опровергло",
              "выборы во время войны", "16 часов без света", "распространите пока не удалили",
              "до фронта дойдет", "в карманах чиновников", "киевский режим", "западные кураторы",
              "импорт электроэнергии", "воздушная тревога", "информационная атака",
              "энергетический коллапс", "помощь США", "после 20 мая"]

EN_FUNCTION = """the of and to in a is that for on it with as was at by be this are from or have
not but they has an which will their more been about were would after also who its than into
there can only new now today yesterday very all some""".split()
EN_TOPIC = """Ukraine Ukrainian Kyiv Kharkiv Odesa Dnipro Lviv Russia Russian Moscow energy grid power
electricity blackout blackouts outage outages schedule Ukrenergo substation generator
transformers imports consumers alarm shelter strike strikes missile drone drones air defence
election elections president parliament law bill constitution legitimacy mobilisation
mobilization conscription deferral soldiers army front aid package tranche sanctions partners
Congress Senate House billion funding fake fakes disinformation propaganda fact-check denial
source sources channel channels Telegram news journalists residents volunteers hospital school
water gas heating fuel prices wages pensions economy budget government minister court police
scammers panic repairs infrastructure network accounts coordinated campaign narrative bots""".split()
EN_RARE = """cogeneration dispatcher pumped-storage interconnector deoccupation appropriations
supplemental reconciliation ombudsman inventory ballots frontline redistribution""".split()
EN_PHRASES = ["energy security", "Western aid", "military aid", "martial law", "discharge petition",
              "aid package", "power outages", "16-hour blackouts", "coordinated inauthentic behavior",
              "copy-paste campaign", "Ukrenergo denied", "mobilisation age", "after May 20",
              "stolen by officials", "air raid alert", "information operation", "Kremlin talking point",
              "grid operator", "offshore accounts", "fact-checkers say"]

HASHTAGS = {
    "uk": ["Україна", "Київ", "енергетика", "блекаут", "мобілізація", "ТЦК", "вибори", "допомога",
           "фейк", "новини", "Харків", "Одеса", "ППО", "волонтери", "ЗСУ", "фактчек"],
    "ru": ["Украина", "Киев", "энергетика", "блэкаут", "мобилизация", "ТЦК", "выборы", "помощь",
           "фейк", "новости", "коррупция", "СВО", "Запад", "Харьков"],
    "en": ["Ukraine", "Kyiv", "energy", "blackout", "StopFundingUkraine", "StandWithUkraine", "aid",
           "disinformation", "OSINT", "factcheck", "Russia", "elections", "AmericaFirst"],
}

DOMAINS = {
    "uk": ["vistinews", "kyiv-insider", "perevirka", "energooglyad", "vybory-monitor", "ukrenergo",
           "mev", "kyiv-digital", "novyny-dnia", "kharkiv-today", "odesa-life", "lviv-post",
           "pravda-dnia", "mfa-ukraine", "rada-news"],
    "ru": ["mirnovostei", "pravda-dnia", "novosti-segodnya", "vzglyad-zapad", "politika360",
           "rus-vesti", "kiev-online24", "donbass-inform", "moskva-times", "z-obozrevatel"],
    "en": ["eastwatch", "disinfo-digest", "eu-energy", "kyiv-daily", "world-report", "hill-watch",
           "osint-hub", "factcheck-intl", "energy-monitor", "freedom-news-now"],
}
SECTIONS = ["news", "politics", "energy", "world", "economy", "society", "war", "fact-check", "analysis"]

UK_NAMES = ["olena", "oksana", "iryna", "natalia", "sofiia", "yulia", "kateryna", "mariia", "olha",
            "dmytro", "andriy", "serhiy", "oleksandr", "taras", "bohdan", "roman", "ihor", "maksym",
            "volodymyr", "yurii", "vasyl", "lesia", "halyna", "viktor"]
RU_NAMES = ["sergey", "alexey", "dmitry", "pavel", "ivan", "nikolay", "marina", "svetlana", "tatiana",
            "elena", "anna", "natasha", "igor", "denis", "galina", "vladimir", "mikhail", "olga"]
EN_NAMES = ["john", "jane", "mike", "sarah", "dave", "emma", "tom", "claire", "james", "linda",
            "robert", "kate", "mark", "susan", "paul", "anna", "chris", "laura"]
PLACES = ["kyiv", "kharkiv", "odesa", "lviv", "dnipro", "zp", "sumy", "poltava", "tx", "ohio", "berlin",
          "riga", "warsaw", "london", "news", "pravda", "truth", "real", "ua", "info", "osint", "patriot"]

LOOKALIKE = {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "і": "i", "у": "y"}
APOSTROPHES = ["'", "\u2019", "\u02bc"]
PUNCT = [".", ",", ".", ",", ",", "!", "?", ":", " —"]

# Telegram Desktop writes local time; the corpus spans February 2024, when Kyiv is UTC+2 all month.
KYIV_OFFSET = 2 * 3600
START = 1706745600  # 2024-02-01T00:00:00Z
SPAN = 30 * 24 * 3600
TWEPOCH_MS = 1288834974657


def pseudo_words(rng, lang, n):
    """A long tail of pronounceable non-words with language-typical letters and endings."""
    # Letters are repeated roughly by their frequency in the language, so the words look plausible.
    if lang == "uk":
        cons = "нннннтттттррррвввввкккклллллсссссммммдддддпппзззбббггчччжхццшщфйй"
        vows = "аааааооооооииииееееіііііуууяяюєї"
        ends = ["ння", "ний", "на", "ість", "ати", "ого", "ами", "ці", "ок", "и", "а", "у", "", "", ""]
    elif lang == "ru":
        cons = "нннннтттттррррвввввкккклллллсссссммммдддддпппзззбббггчччжхццшщфйй"
        vows = "аааааооооооииииеееееееуууыыяяюэё"
        ends = ["ние", "ный", "ная", "ость", "ать", "ого", "ами", "ки", "ок", "и", "а", "у", "", "", ""]
    else:
        cons = "ttttnnnnssssrrrrhhlllddccmmwwffggppbbvvkjz"
        vows = "eeeeeaaaaoooiiiiuuy"
        ends = ["tion", "ing", "ed", "er", "ly", "ness", "al", "s", "s", "", "", "", ""]
    seen = {}
    while len(seen) < n:
        syl = rng.choice((1, 2, 2, 2, 3, 3))
        w = "".join(rng.choice(cons) + rng.choice(vows) for _ in range(syl)) + rng.choice(ends)
        seen.setdefault(w, None)
    return list(seen)


def sampling_table(items, weights, size):
    """A list in which each item appears in proportion to its weight (at least once).

    Drawing uniformly from it (`rng.choices(table, k=n)`) is several times faster than weighted
    `choices`, which bisects a cumulative table for every draw; speed matters at a million posts.
    """
    total = sum(weights)
    table = []
    for item, w in zip(items, weights):
        table.extend([item] * max(1, round(w / total * size)))
    return table


def build_vocab(rng, lang):
    func, topic, rare, phrases = {
        "uk": (UK_FUNCTION, UK_TOPIC, UK_RARE, UK_PHRASES),
        "ru": (RU_FUNCTION, RU_TOPIC, RU_RARE, RU_PHRASES),
        "en": (EN_FUNCTION, EN_TOPIC, EN_RARE, EN_PHRASES),
    }[lang]
    tail = pseudo_words(rng, lang, 15000)
    # Topic words are shuffled among the first part of the tail so they are common but not uniform.
    head = list(func)
    mid = list(topic) + tail[:1500]
    rng.shuffle(mid)
    vocab = head + mid + tail[1500:]
    # Rare real words go deep in the ranking (ranks ~3000-12000).
    for i, w in enumerate(rare):
        vocab.insert(3000 + i * (9000 // max(1, len(rare))), w)
    words = sampling_table(vocab, [1.0 / (r + 2.7) ** 1.07 for r in range(len(vocab))], 1 << 21)
    phrase_table = sampling_table(phrases, [1.0 / (r + 1.5) for r in range(len(phrases))], 1 << 12)
    return words, phrase_table


class Accounts:
    """~10k accounts with a main language; a few hundred are busy, most post rarely."""

    def __init__(self, rng, n):
        self.ids, self.names, self.display, self.lang = [], [], [], []
        seen = set()
        for i in range(n):
            lang = rng.choices(["uk", "ru", "en"], [0.45, 0.30, 0.25])[0]
            first = rng.choice({"uk": UK_NAMES, "ru": RU_NAMES, "en": EN_NAMES}[lang])
            while True:
                style = rng.random()
                if style < 0.4:
                    name = f"{first}_{rng.choice(PLACES)}"
                elif style < 0.8:
                    name = f"{first}{rng.randint(1, 9999)}"
                else:
                    name = f"{first}.{rng.choice(PLACES)}{rng.randint(1, 99)}"
                if name not in seen:
                    seen.add(name)
                    break
            self.ids.append(str(100000 + i * 37))
            self.names.append(name)
            self.display.append(first.capitalize() + " " + rng.choice(PLACES).capitalize())
            self.lang.append(lang)
        # 70% of posts come from a Zipf-like activity table, the rest from anyone.
        self.active = sampling_table(range(n), [1.0 / (r + 5) ** 0.9 for r in range(n)], 1 << 18)
        # Coordinated groups: 20 groups of 5 accounts drawn from the quiet end.
        quiet = list(range(n // 2, n))
        rng.shuffle(quiet)
        self.groups = [quiet[g * 5:(g + 1) * 5] for g in range(20)]


class Gen:
    """Everything shared by all chunks: vocabulary, accounts, link pool, campaign templates."""

    def __init__(self, seed, n_accounts=10000):
        self.rng = random.Random(seed)
        rng = self.rng
        self.vocab = {lang: build_vocab(rng, lang) for lang in ("uk", "ru", "en")}
        self.acc = Accounts(rng, n_accounts)
        self.urls = {lang: self._url_pool(lang, 20000) for lang in ("uk", "ru", "en")}
        # Popular links are shared often, which is what co-link detection has to discount.
        self.url_table = {lang: sampling_table(pool, [1.0 / (r + 3) for r in range(len(pool))], 1 << 18)
                          for lang, pool in self.urls.items()}
        self.templates = [self._template() for _ in range(300)]

    def _url_pool(self, lang, n):
        rng = self.rng
        words = self.vocab["en"][0]
        words = words[len(words) // 3:]  # slugs from the less common words
        out = []
        for i in range(n):
            dom = rng.choice(DOMAINS[lang])
            slug = "-".join(rng.choice(words).lower() for _ in range(rng.randint(2, 5)))
            day = rng.randint(1, 29)
            out.append(f"https://{dom}.example/{rng.choice(SECTIONS)}/2024/02/{day:02d}/{slug}-{i}")
        return out

    def _template(self):
        lang = self.rng.choices(["uk", "ru", "en"], [0.5, 0.3, 0.2])[0]
        return lang, self.sentence(lang, self.rng.randint(20, 40)), self.rng.choice(self.urls[lang][:500])

    def sentence(self, lang, k):
        rng = self.rng
        words, phrases = self.vocab[lang]
        ws = rng.choices(words, k=k)
        if rng.random() < 0.5:
            ws.insert(rng.randrange(len(ws)), rng.choice(phrases))
        i = rng.randint(5, 14)
        while i < len(ws):
            ws[i - 1] += rng.choice(PUNCT)
            if ws[i - 1][-1] in ".!?":
                ws[i] = ws[i][:1].upper() + ws[i][1:]
            i += rng.randint(5, 14)
        ws[0] = ws[0][:1].upper() + ws[0][1:]
        text = " ".join(ws) + rng.choice("..!?.")
        if lang == "uk" and "'" in text:
            text = text.replace("'", rng.choice(APOSTROPHES))
        return text

    def noisy_url(self, base):
        """The same link the way people paste it: tracking parameters, fragments, slashes, case."""
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            base += f"?utm_source={rng.choice(['telegram', 'twitter', 'fb', 'viber', 'x'])}&utm_medium=social"
            if rng.random() < 0.3:
                base += f"&utm_campaign=c{rng.randint(1, 500)}"
        elif r < 0.45:
            base += f"?fbclid=IwAR{rng.getrandbits(40):x}"
        elif r < 0.5:
            base += f"?gclid={rng.getrandbits(48):x}"
        elif r < 0.55:
            base += "/"
        elif r < 0.58:
            base += "#comments"
        elif r < 0.6:
            scheme, rest = base.split("://", 1)
            host, _, path = rest.partition("/")
            base = f"{scheme}://{host.upper()}/{path}"
        return base


def lookalike(rng, text):
    """Swap one Cyrillic letter for its Latin twin, as evasive copy-pasters do."""
    idx = [i for i, c in enumerate(text) if c in LOOKALIKE]
    if not idx:
        return text
    i = rng.choice(idx)
    return text[:i] + LOOKALIKE[text[i]] + text[i + 1:]


def posts(gen, first, last, n_total):
    """Yields posts first..last-1 (global indices) in time order, from gen.rng.

    Replies and reposts point only at earlier posts of the same chunk, so chunks are independent.
    """
    rng = gen.rng
    acc = gen.acc
    n_acc = len(acc.ids)
    recent = []  # (index, author, text) of recent posts, for reposts and replies
    t_prev = START + (first * SPAN) // max(1, n_total)
    i = first
    while i < last:
        base_t = START + (i * SPAN) // max(1, n_total)
        if rng.random() < 0.0025 and last - i >= 6:
            # A copy-paste burst: one group, one template, lightly edited copies seconds apart.
            lang, text, url = gen.templates[rng.randrange(len(gen.templates))]
            group = acc.groups[rng.randrange(len(acc.groups))]
            t = max(t_prev, base_t)
            for a in group:
                r = rng.random()
                body = text
                if r < 0.2:
                    body = body.upper()[:20] + body[20:]
                elif r < 0.4 and lang != "en":
                    body = lookalike(rng, body)
                elif r < 0.6:
                    body = body + " #" + rng.choice(HASHTAGS[lang])
                elif r < 0.7:
                    body = body.lower()
                t += rng.randint(1, 8)
                yield dict(i=i, author=a, t=t, lang=lang, text=body, urls=[gen.noisy_url(url)],
                           tags=[], mentions=[], repost=None, reply=None)
                recent.append((i, a, body))
                i += 1
            t_prev = t
            continue
        a = rng.choice(acc.active) if rng.random() < 0.7 else rng.randrange(n_acc)
        lang = acc.lang[a] if rng.random() < 0.85 else rng.choice(("uk", "ru", "en"))
        t = max(t_prev, base_t + rng.randint(0, 2))
        t_prev = t
        r = rng.random()
        if r < 0.08 and recent:
            # Repost: no text of its own.
            post = dict(i=i, author=a, t=t, lang=lang, text="", urls=[], tags=[], mentions=[],
                        repost=recent[rng.randrange(len(recent))], reply=None)
        else:
            reply = None
            mentions = []
            if r < 0.18 and recent:
                reply = recent[rng.randrange(len(recent))]
                mentions.append(reply[1])
            text = gen.sentence(lang, rng.randint(10, 60))
            if lang != "en" and rng.random() < 0.01:
                text = lookalike(rng, text)
            if rng.random() < 0.02:
                cut = text.find(" ", len(text) // 2)
                if cut > 0:
                    text = text[:cut] + "\n" + text[cut + 1:]
            if rng.random() < 0.06:
                mentions.append(rng.randrange(n_acc))
            tags = rng.sample(HASHTAGS[lang], rng.randint(1, 3)) if rng.random() < 0.25 else []
            urls = []
            if rng.random() < 0.30:
                urls.append(gen.noisy_url(rng.choice(gen.url_table[lang])))
                if rng.random() < 0.05:
                    pool = gen.urls[lang]
                    urls.append(gen.noisy_url(pool[rng.randrange(len(pool))]))
            post = dict(i=i, author=a, t=t, lang=lang, text=text, urls=urls, tags=tags, mentions=mentions,
                        repost=None, reply=reply)
        yield post
        if post["text"]:
            recent.append((i, a, post["text"]))
            if len(recent) > 5000:
                del recent[:1000]
        i += 1


# --------------------------------------------------------------------------------------------------
# Writers. Each renders one chunk of posts into a string; main() stitches the chunks together.
# --------------------------------------------------------------------------------------------------


def render_cnt(chunk, acc):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for p in chunk:
        a = p["author"]
        if p["repost"]:
            w.writerow([p["i"] + 1, acc.ids[a], acc.names[a], p["repost"][0] + 1, "", "", p["t"], ""])
            continue
        parts = ["@" + acc.names[m] for m in p["mentions"]]
        parts.append(p["text"])
        parts.extend("#" + t for t in p["tags"])
        w.writerow([p["i"] + 1, acc.ids[a], acc.names[a], "", p["reply"][0] + 1 if p["reply"] else "",
                    " ".join(parts), p["t"], " ".join(p["urls"])])
    return buf.getvalue()


TG_CHANNEL = "Бенчмарк Новини"
TG_CHANNEL_ID = 1987654321
TG_FROM_ID = f"channel{TG_CHANNEL_ID}"


def render_telegram(chunk, acc):
    """Messages of one channel; other accounts appear as forwarded_from sources and mentions."""
    lines = []
    dumps = json.dumps
    for p in chunk:
        mid = p["i"] + 1
        local = p["t"] + KYIV_OFFSET
        m = {"id": mid, "type": "message",
             "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(local)),
             "date_unixtime": str(p["t"]), "from": TG_CHANNEL, "from_id": TG_FROM_ID}
        if p["repost"]:
            m["forwarded_from"] = acc.display[p["repost"][1]]
            body = p["repost"][2]
            m["text"] = body
            m["text_entities"] = [{"type": "plain", "text": body}] if body else []
        else:
            if p["author"] % 7 == 0:
                m["forwarded_from"] = acc.display[p["author"]]
            if p["reply"]:
                m["reply_to_message_id"] = p["reply"][0] + 1
            if mid % 97 == 0:
                m["photo"] = f"photos/photo_{mid}@{time.strftime('%d-%m-%Y_%H-%M-%S', time.gmtime(local))}.jpg"
                m["width"], m["height"] = 1280, 960
            if p["urls"] or p["tags"] or p["mentions"] or mid % 11 == 0:
                parts = []
                for x in p["mentions"]:
                    parts.append({"type": "mention", "text": "@" + acc.names[x]})
                    parts.append(" ")
                if mid % 11 == 0:
                    head, _, rest = p["text"].partition(" ")
                    parts.append({"type": "bold", "text": head})
                    parts.append(" " + rest)
                else:
                    parts.append(p["text"])
                for tag in p["tags"]:
                    parts.append(" ")
                    parts.append({"type": "hashtag", "text": "#" + tag})
                for k, u in enumerate(p["urls"]):
                    parts.append("\n")
                    if (mid + k) % 3 == 0:
                        parts.append({"type": "text_link", "text": "джерело", "href": u})
                    else:
                        parts.append({"type": "link", "text": u})
                m["text"] = parts
                m["text_entities"] = [{"type": "plain", "text": x} if isinstance(x, str) else x for x in parts]
            else:
                m["text"] = p["text"]
                m["text_entities"] = [{"type": "plain", "text": p["text"]}] if p["text"] else []
        lines.append("  " + dumps(m, ensure_ascii=False))
    return ",\n".join(lines)


def tweet_id(p):
    # X ids are milliseconds since 2010-11-04 shifted left by 22 bits; the low bits keep them unique.
    return str(((p["t"] * 1000 - TWEPOCH_MS) << 22) | (p["i"] & 0x3FFFFF))


def render_x(chunk, acc, first_page, last_chunk):
    """Search pages of 100 tweets, with includes.users for authors, mentioned and retweeted users."""
    ids = {}  # post index -> (tweet id, conversation id)
    out = []
    page = []
    page_no = first_page
    gmtime, strftime = time.gmtime, time.strftime

    def flush(more):
        nonlocal page, page_no
        users, seen = [], set()
        for _, us in page:
            for u in us:
                if u not in seen:
                    seen.add(u)
                    users.append({"id": acc.ids[u], "name": acc.display[u], "username": acc.names[u]})
        data = [t for t, _ in page]
        meta = {"newest_id": data[-1]["id"], "oldest_id": data[0]["id"], "result_count": len(data)}
        if more:
            meta["next_token"] = f"b26v89c19zqg8o3f{page_no:010d}"
        out.append(json.dumps({"data": data, "includes": {"users": users}, "meta": meta}, ensure_ascii=False))
        page = []
        page_no += 1

    for p in chunk:
        tid = tweet_id(p)
        a = p["author"]
        tw = {"id": tid, "author_id": acc.ids[a],
              "created_at": strftime("%Y-%m-%dT%H:%M:%S.000Z", gmtime(p["t"])),
              "lang": p["lang"], "edit_history_tweet_ids": [tid]}
        users = [a]
        ent = {}
        conv = tid
        if p["repost"]:
            j, oa, otext = p["repost"]
            ref_id = ids[j][0] if j in ids else str(j)
            body = otext if len(otext) <= 120 else otext[:119] + "…"
            text = f"RT @{acc.names[oa]}: {body}"
            ent["mentions"] = [{"start": 3, "end": 4 + len(acc.names[oa]), "username": acc.names[oa],
                                "id": acc.ids[oa]}]
            tw["referenced_tweets"] = [{"type": "retweeted", "id": ref_id}]
            users.append(oa)
        else:
            pieces = []
            pos = 0
            mentions, tags, urls = [], [], []
            for m in p["mentions"]:
                s = "@" + acc.names[m]
                mentions.append({"start": pos, "end": pos + len(s), "username": acc.names[m], "id": acc.ids[m]})
                pieces.append(s)
                pos += len(s) + 1
                users.append(m)
            pieces.append(p["text"])
            pos += len(p["text"]) + 1
            for tag in p["tags"]:
                s = "#" + tag
                tags.append({"start": pos, "end": pos + len(s), "tag": tag})
                pieces.append(s)
                pos += len(s) + 1
            for k, u in enumerate(p["urls"]):
                short = f"https://t.co/{(p['i'] * 7919 + k * 131) & 0xFFFFFFFFFF:010x}"
                urls.append({"start": pos, "end": pos + len(short), "url": short, "expanded_url": u,
                             "display_url": u.split("://", 1)[-1][:25]})
                pieces.append(short)
                pos += len(short) + 1
            text = " ".join(pieces)
            if mentions:
                ent["mentions"] = mentions
            if tags:
                ent["hashtags"] = tags
            if urls:
                ent["urls"] = urls
            if p["reply"]:
                j = p["reply"][0]
                ref_id, conv = ids[j] if j in ids else (str(j), str(j))
                tw["referenced_tweets"] = [{"type": "replied_to", "id": ref_id}]
                tw["in_reply_to_user_id"] = acc.ids[p["reply"][1]]
        tw["text"] = text
        tw["conversation_id"] = conv
        if ent:
            tw["entities"] = ent
        ids[p["i"]] = (tid, conv)
        page.append((tw, users))
        if len(page) == 100:
            flush(more=True)
    if page:
        flush(more=not last_chunk)
    elif out and last_chunk:
        # The final page of the whole file carries no next_token.
        last = json.loads(out[-1])
        last["meta"].pop("next_token", None)
        out[-1] = json.dumps(last, ensure_ascii=False)
    return "\n".join(out) + ("\n" if out else "")


# Chunks are a fixed size, so the output does not depend on how many processes render them.
CHUNK = 20_000
_GEN = None
_SEED = None


def _init_worker(seed):
    global _GEN, _SEED
    if _GEN is None or _SEED != seed:  # with "fork" the parent's Gen is inherited as is
        _GEN, _SEED = Gen(seed), seed


def _render_chunk(job):
    seed, first, last, n_total = job
    _init_worker(seed)
    gen = _GEN
    gen.rng = random.Random(f"varta-bench:{seed}:{first}")
    chunk = list(posts(gen, first, last, n_total))
    last_chunk = last >= n_total
    return (render_cnt(chunk, gen.acc), render_telegram(chunk, gen.acc),
            render_x(chunk, gen.acc, first // 100, last_chunk))


# --------------------------------------------------------------------------------------------------
# HTML pages
# --------------------------------------------------------------------------------------------------

BOILER = {
    "uk": dict(nav=["Головна", "Новини", "Політика", "Економіка", "Енергетика", "Світ", "Відео"],
               share="Поділитися", related="Читайте також", comments="Коментарі — 0",
               login="Авторизуйтесь, щоб додавати коментарі", loading="Іде завантаження...",
               more="Показати більше коментарів", footer="© 2024 Усі права захищені. Передрук — з посиланням.",
               cookie="Ми використовуємо cookie. Погоджуюсь", subscribe="Підписуйтесь на наш Telegram-канал",
               langs=["Українською", "English"], published="Опубліковано"),
    "ru": dict(nav=["Главная", "Новости", "Политика", "Экономика", "Энергетика", "Мир", "Видео"],
               share="Поделиться", related="Читайте также", comments="Комментарии (0)",
               login="Чтобы оставить комментарий, войдите", loading="Загрузка...",
               more="Показать все комментарии", footer="© 2024 Все права защищены. 18+",
               cookie="Мы используем cookie. Принять", subscribe="Подписывайтесь на наш канал в Telegram",
               langs=["Русский", "Українська"], published="Опубликовано"),
    "en": dict(nav=["Home", "News", "Politics", "Economy", "Energy", "World", "Video"],
               share="Share", related="Related articles", comments="Comments (0)",
               login="Log in to comment", loading="Loading...", more="Show more comments",
               footer="© 2024 All rights reserved.", cookie="We use cookies. Accept all",
               subscribe="Get our newsletter", langs=["English", "Українською"], published="Published"),
}

OUTDATED = ("<div class=\"outdated\"><h6>Outdated Browser</h6><p>Для комфортної роботи в Мережі потрібен "
            "сучасний браузер. Тут можна знайти останні версії.</p><ul><li>67.15% людей використовує цей "
            "браузер Google Chrome</li><li>9.6% Mozilla Firefox</li><li>4.5% Microsoft Edge</li></ul></div>")


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def page_html(gen, k, lang, template):
    rng = gen.rng
    b = BOILER[lang]
    title = gen.sentence(lang, rng.randint(6, 12)).rstrip(".!?")
    n_words = rng.randint(300, 1500)
    paras = []
    total = 0
    while total < n_words:
        w = min(rng.randint(40, 120), n_words - total)
        w = max(w, 10)
        paras.append(gen.sentence(lang, w))
        total += w
    t = START + rng.randrange(SPAN)
    iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))
    human = time.strftime("%d.%m.%Y %H:%M", time.gmtime(t))
    url = f"https://{rng.choice(DOMAINS[lang])}.example/{rng.choice(SECTIONS)}/{k}"
    nav = "".join(f'<li><a href="/{i}">{esc(x)}</a></li>' for i, x in enumerate(b["nav"]))
    langs = " | ".join(f'<a href="/{x[:2].lower()}/">{esc(x)}</a>' for x in b["langs"])
    related = "".join(
        f'<li><a href="{u}">{esc(gen.sentence(lang, rng.randint(5, 10)).rstrip(".!?"))}</a></li>'
        for u in rng.sample(gen.urls[lang][:2000], 4))
    body = "\n".join(f"<p>{esc(p)}</p>" for p in paras)
    charset = "windows-1251" if template == "cp1251" else "utf-8"
    head = (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="{charset}">\n'
            f"<title>{esc(title)}</title>\n"
            f'<link rel="canonical" href="{url}">\n'
            f'<meta property="og:title" content="{esc(title)}">\n'
            f'<meta property="og:url" content="{url}?utm_source=fb">\n'
            f'<meta property="article:published_time" content="{iso}">\n')
    if k % 4 == 0:
        ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
              "datePublished": iso, "inLanguage": lang, "mainEntityOfPage": url}
        head += f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>\n'
    head += "</head>\n"
    share = (f'<div class="share">{b["share"]}: <a href="https://www.facebook.com/sharer.php?u={url}">Facebook</a> '
             f'<a href="https://t.me/share/url?url={url}">Telegram</a> <a href="https://twitter.com/share?url={url}">X</a></div>')
    comments = (f'<section class="comments"><h3>{b["comments"]}</h3><p>{b["login"]}</p>'
                f'<div>{b["loading"]}</div><button>{b["more"]}</button></section>')
    if template in ("classic", "cp1251"):
        page = (f'<body><div class="top"><ul class="a11y"><li>A-</li><li>A+</li></ul><div class="langs">{langs}</div></div>'
                f'<header><a class="logo" href="/">Logo</a><nav><ul>{nav}</ul></nav></header>\n'
                f'<main><article><h1>{esc(title)}</h1><div class="date">{b["published"]} {human}</div>\n{body}\n</article>'
                f'{share}<aside><h3>{b["related"]}</h3><ul>{related}</ul></aside>{comments}</main>'
                f'{OUTDATED if lang == "uk" else ""}<footer>{b["footer"]}</footer></body></html>\n')
    elif template == "blog":
        tags = " ".join(f'<a href="/tag/{x}">#{esc(x)}</a>' for x in rng.sample(HASHTAGS[lang], 3))
        page = (f'<body class="single-post"><div id="page"><header id="masthead"><p class="site-title">Blog</p>'
                f'<nav id="site-navigation"><ul>{nav}</ul></nav></header>\n<div id="content"><div id="primary">'
                f'<article class="post"><header class="entry-header"><h1 class="entry-title">{esc(title)}</h1>'
                f'<time class="entry-date" datetime="{iso}">{human}</time></header>\n<div class="entry-content">\n{body}\n'
                f'</div><footer class="entry-footer">{tags}</footer></article>{share}{comments}</div>'
                f'<aside id="secondary"><section class="widget"><h2>{b["related"]}</h2><ul>{related}</ul></section>'
                f'<section class="widget"><p>{b["subscribe"]}</p></section></aside></div>'
                f'<footer id="colophon">{b["footer"]}</footer></div></body></html>\n')
    elif template == "portal":
        teasers = "".join(f'<div class="teaser"><a href="{u}">{esc(gen.sentence(lang, 8).rstrip(".!?"))}</a></div>'
                          for u in rng.sample(gen.urls[lang][:5000], 6))
        page = (f'<body><div class="cookie">{b["cookie"]}</div><div class="ad-top"><a href="/adv">Реклама</a></div>'
                f'<header><nav>{nav}</nav><div class="langs">{langs}</div></header>\n'
                f'<div class="layout"><div class="teasers">{teasers}</div><main>'
                f'<h1 itemprop="headline">{esc(title)}</h1><span class="time">{human}</span>\n'
                f'<div itemprop="articleBody">\n{body}\n</div>{share}</main>'
                f'<div class="sidebar"><h4>{b["related"]}</h4><ol>{related}</ol><p>{b["subscribe"]}</p></div></div>'
                f'{comments}<footer>{b["footer"]}</footer></body></html>\n')
    else:  # minimal
        page = (f'<body><header><a href="/">←</a></header><article><h1>{esc(title)}</h1><p><time>{human}</time></p>\n'
                f'{body}\n</article><footer>{b["footer"]}</footer></body></html>\n')
    return head + page


def write_pages(gen, root, n):
    rng = gen.rng
    for k in range(n):
        lang = rng.choices(["uk", "ru", "en"], [0.45, 0.3, 0.25])[0]
        template = rng.choice(["classic", "blog", "portal", "minimal"])
        if lang == "ru" and rng.random() < 0.3:
            template = "cp1251"
        html = page_html(gen, k, lang, template)
        d = os.path.join(root, lang, f"{k // 100:02d}")
        os.makedirs(d, exist_ok=True)
        base = os.path.join(d, f"page-{k:04d}.html")
        if template == "cp1251":
            # Characters outside windows-1251 (emoji, ʼ) become numeric references, as CMSes do.
            with open(base, "wb") as f:
                f.write(html.encode("cp1251", errors="xmlcharrefreplace"))
        elif k % 20 == 7:
            with open(base + ".gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
                gz.write(html.encode("utf-8"))
        else:
            with open(base, "w", encoding="utf-8") as f:
                f.write(html)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory (created)")
    ap.add_argument("--posts", type=int, default=1_000_000, help="posts per format (default 1000000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--pages", type=int, default=2000, help="HTML pages (default 2000)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="worker processes (default: all CPUs; the output does not depend on it)")
    args = ap.parse_args(argv)
    if args.posts < 0 or args.pages < 0 or args.jobs < 1:
        ap.error("--posts and --pages must be >= 0, --jobs >= 1")

    started = time.time()
    os.makedirs(os.path.join(args.out, "telegram"), exist_ok=True)
    _init_worker(args.seed)
    jobs = [(args.seed, f, min(f + CHUNK, args.posts), args.posts) for f in range(0, args.posts, CHUNK)]
    cnt = open(os.path.join(args.out, "posts.cnt.csv"), "w", encoding="utf-8", newline="", buffering=1 << 20)
    tg = open(os.path.join(args.out, "telegram", "result.json"), "w", encoding="utf-8", buffering=1 << 20)
    xw = open(os.path.join(args.out, "posts.x.jsonl"), "w", encoding="utf-8", buffering=1 << 20)
    cnt.write("message_id,user_id,username,repost_id,reply_id,message,timestamp,urls\n")
    tg.write('{\n "name": %s,\n "type": "public_channel",\n "id": %d,\n "messages": [\n'
             % (json.dumps(TG_CHANNEL, ensure_ascii=False), TG_CHANNEL_ID))

    def consume(results):
        for k, (c, t, x) in enumerate(results):
            cnt.write(c)
            if t:
                tg.write((",\n" if k else "") + t)
            xw.write(x)

    if args.jobs > 1 and len(jobs) > 1:
        import multiprocessing as mp

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        with ctx.Pool(min(args.jobs, len(jobs)), initializer=_init_worker, initargs=(args.seed,)) as pool:
            consume(pool.imap(_render_chunk, jobs))
    else:
        consume(map(_render_chunk, jobs))
    tg.write("\n ]\n}\n")
    for f in (cnt, tg, xw):
        f.close()
    # Pages draw from the same vocabulary but their own random stream, so --posts does not change them.
    _GEN.rng = random.Random(f"varta-bench-pages:{args.seed}")
    write_pages(_GEN, os.path.join(args.out, "pages"), args.pages)
    print(f"wrote {args.posts} posts x 3 formats and {args.pages} pages to {args.out} "
          f"in {time.time() - started:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
