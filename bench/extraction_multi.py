#!/usr/bin/env python3
"""Main-text extraction on the multilingual gold set (eval/extraction-multi): Varta and trafilatura on
the same pages, scored the same way, per split (tune / held) and per page.

  python3 bench/extraction_multi.py [--varta target/release/varta] [--peer PYTHON] [--split held]
                                    [--pages] [--json OUT]

PYTHON is an interpreter with trafilatura 2.3.1 (`bash ../shared/peers/setup.sh` prints one); without
--peer only Varta is scored. Scoring: bag-of-words precision, recall and F1 per page, macro-averaged, as
../shared/peers/score_extraction.py does, except that Chinese and Japanese characters (Han, kana) are
one token each: those scripts write no spaces, and a whole sentence as one "word" would score a page
all or nothing. Soft hyphens and zero-width characters are removed first. Hangul, Arabic, Hebrew, Greek, Georgian, Armenian, Devanagari and Latin are split into
words (runs of letters and digits) as usual."""
import argparse, collections, json, os, pathlib, re, subprocess, sys, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SET = ROOT / "eval" / "extraction-multi"
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")


def tokens(s):
    out = []
    for w in re.findall(r"\w+", INVISIBLE.sub("", s or "").lower()):
        if CJK.search(w):
            run = ""
            for c in w:
                if CJK.match(c):
                    if run:
                        out.append(run)
                        run = ""
                    out.append(c)
                else:
                    run += c
            if run:
                out.append(run)
        else:
            out.append(w)
    return collections.Counter(out)


def prf(pred, gold):
    p, g = tokens(pred), tokens(gold)
    ov = sum((p & g).values())
    pr, rc = ov / max(1, sum(p.values())), ov / max(1, sum(g.values()))
    return pr, rc, (2 * pr * rc / (pr + rc) if pr + rc else 0.0)


def run_varta(varta, pages):
    t0 = time.perf_counter()
    out = subprocess.run([varta, "extract", str(pages), "--jsonl"], capture_output=True, text=True, check=True)
    dt = time.perf_counter() - t0
    return {json.loads(l)["id"]: json.loads(l)["text"] or "" for l in out.stdout.splitlines() if l.strip()}, dt


def run_peer(python, pages):
    with tempfile.TemporaryDirectory() as d:
        dst = pathlib.Path(d) / "out.jsonl"
        script = ROOT.parent / "shared" / "peers" / "extract_peer.py"
        t0 = time.perf_counter()
        subprocess.run([python, str(script), "trafilatura", str(pages), str(dst)], check=True,
                       stderr=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
        return {json.loads(l)["id"]: json.loads(l)["text"] or "" for l in open(dst, encoding="utf-8")}, dt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--varta", default=str(ROOT / "target" / "release" / "varta"))
    ap.add_argument("--peer", help="python with trafilatura 2.3.1")
    ap.add_argument("--split", choices=["tune", "held", "all"], default="all")
    ap.add_argument("--pages", action="store_true", help="print every page's scores")
    ap.add_argument("--json")
    a = ap.parse_args()
    gold = json.load(open(SET / "gold.json", encoding="utf-8"))
    tools = {"varta": run_varta(a.varta, SET / "pages")}
    if a.peer:
        tools["trafilatura"] = run_peer(a.peer, SET / "pages")
    splits = ["tune", "held"] if a.split == "all" else [a.split]
    result = {}
    if a.pages:
        print("| page | lang | split | " + " | ".join(f"{t} P / R / F1" for t in tools) + " |")
        print("| --- | --- | --- | " + " | ".join("---" for _ in tools) + " |")
        for k in sorted(gold):
            if gold[k].get("split") not in splits:
                continue
            cells = []
            for t, (pred, _) in tools.items():
                p, r, f = prf(pred.get(k, ""), gold[k]["articleBody"])
                cells.append(f"{p:.2f} / {r:.2f} / {f:.2f}" + (" EMPTY" if not pred.get(k, "").strip() else ""))
            print(f"| {k} | {gold[k].get('lang')} | {gold[k].get('split')} | " + " | ".join(cells) + " |")
        print()
    print("| split | pages | " + " | ".join(f"{t} P / R / F1" for t in tools) + " | empty texts |")
    print("| --- | ---: | " + " | ".join("---" for _ in tools) + " | --- |")
    for sp in splits + (["all"] if len(splits) > 1 else []):
        ids = [k for k in gold if sp == "all" or gold[k].get("split") == sp]
        cells, empties = [], []
        for t, (pred, _) in tools.items():
            s = [prf(pred.get(k, ""), gold[k]["articleBody"]) for k in ids]
            n = max(1, len(s))
            P, R, F = (sum(x[i] for x in s) / n for i in range(3))
            e = sum(1 for k in ids if not pred.get(k, "").strip())
            result.setdefault(sp, {})[t] = {"pages": len(ids), "precision": P, "recall": R, "f1": F, "empty": e}
            cells.append(f"{P:.3f} / {R:.3f} / **{F:.3f}**")
            empties.append(f"{t} {e}")
        print(f"| {sp} | {len(ids)} | " + " | ".join(cells) + " | " + ", ".join(empties) + " |")
    for t, (_, dt) in tools.items():
        print(f"{t}: {len(gold)} pages in {dt:.2f} s (process start included)", file=sys.stderr)
    if a.json:
        json.dump(result, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
