#!/usr/bin/env python3
"""How well `varta coord` (own mode) finds planted coordinated groups in bench/gen_ops.py's data.

Run and score: for each density and seed, generate a set with gen_ops.py (into a temporary directory, or
--keep DIR, where sets already generated with the same parameters are reused), run
`varta coord SET.csv --json [--window W] [EXTRA]` once, timed with /usr/bin/time (wall seconds, peak RSS),
and score its groups against the truth:

  python3 bench/coord_quality.py --seeds 1 2 3 --densities 1 3 10 [--shared 0.18] [--window auto|60]
                                 [--extra "ARGS"] [--keep DIR] [--varta PATH] [--json OUT.json] [--core]

Score an existing output (no run):

  python3 bench/coord_quality.py --score COORD.json --truth TRUTH.json [--core] [--json OUT.json]

Scoring. A reported group R is its `members` (core + attached; with --core its `core` only), actor ids
`cnt-csv:u12` read as `u12`. R matches a planted group P when |R∩P| >= 0.8·|P| and |R \\ P| <= 0.2·|R|
(the strict rule: members of R outside P count against R even when they belong to another planted
group, e.g. accounts P shares with its partner group).
  recall     planted groups matched by some reported group / planted groups (overall and per style)
  precision  reported groups matching some planted group / reported groups
  organic    reported groups less than half of whose members are planted accounts (of any group)
  merged     reported groups holding >= 50% of the members of each of 2+ planted groups
Planted groups not found are told apart: buried (a reported group holds >= 80% of P, but with more than
20% others), partial (the best reported group holds 50-80% of P), missed (less). Member level: of the
planted accounts, the share found in some reported group (member recall); of the accounts in reported
groups, the share that are planted (member precision).
Runs go one at a time; wall time and RSS come from /usr/bin/time when present (else the wall clock and
getrusage's children maximum, which also covers the generator).
"""
import argparse, json, os, resource, shlex, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STYLES = ["text", "link", "repost"]


def actor(m):
    return m.split(":", 1)[1] if ":" in m else m


def score(truth, out, core=False):
    planted = [(g["group"], g["style"], set(g["members"])) for g in truth["groups"]]
    planted_all = set().union(*(p for _, _, p in planted)) if planted else set()
    reported = [set(actor(m) for m in (r["core"] if core else r["members"])) for r in out.get("groups", [])]

    def match(r, p):
        return len(r & p) >= 0.8 * len(p) and len(r - p) <= 0.2 * len(r)

    per = []
    for gid, style, p in planted:
        cover = [len(r & p) / len(p) for r in reported]
        best = max(cover, default=0.0)
        if any(match(r, p) for r in reported):
            status = "found"
        elif best >= 0.8:
            status = "buried"
        elif best >= 0.5:
            status = "partial"
        else:
            status = "missed"
        per.append({"group": gid, "style": style, "size": len(p), "status": status, "best_cover": round(best, 3),
                    "jitter_s": next(g["jitter_s"] for g in truth["groups"] if g["group"] == gid),
                    "pushes": next(g["pushes"] for g in truth["groups"] if g["group"] == gid)})
    matched = sum(1 for r in reported if any(match(r, p) for _, _, p in planted))
    organic = sum(1 for r in reported if len(r & planted_all) < 0.5 * len(r))
    merged = sum(1 for r in reported if sum(1 for _, _, p in planted if len(r & p) >= 0.5 * len(p)) >= 2)
    in_groups = set().union(*reported) if reported else set()
    res = {
        "planted": len(planted), "reported": len(reported), "matched_reported": matched,
        "found": sum(1 for x in per if x["status"] == "found"),
        "precision": matched / len(reported) if reported else None,
        "organic_groups": organic, "merged_groups": merged,
        "planted_accounts": len(planted_all), "planted_in_groups": len(in_groups & planted_all),
        "accounts_in_groups": len(in_groups),
        "member_recall": len(in_groups & planted_all) / len(planted_all) if planted_all else None,
        "member_precision": len(in_groups & planted_all) / len(in_groups) if in_groups else None,
        "reported_sizes": sorted((len(r) for r in reported), reverse=True),
        "window_s": out.get("window_s"),
        "planted_groups": per,
    }
    for k in ("buried", "partial", "missed"):
        res[k] = sum(1 for x in per if x["status"] == k)
    res["recall"] = res["found"] / len(planted) if planted else None
    for s in STYLES:
        n = sum(1 for x in per if x["style"] == s)
        f = sum(1 for x in per if x["style"] == s and x["status"] == "found")
        res[f"found_{s}"], res[f"planted_{s}"] = f, n
        res[f"recall_{s}"] = f / n if n else None
    return res


def fmt(x, nd=2):
    return "-" if x is None else f"{x:.{nd}f}"


def frac(f, n):
    return f"{f}/{n}" if n else "-"


HEAD = ("| density | seed | rows | planted | reported | text | link | repost | recall | precision | organic | merged "
        "| buried/partial/missed | member R/P | window s | time s | RSS MB |")
SEP = "|" + "|".join([" --- "] * (HEAD.count("|") - 1)) + "|"


def row(d, seed, r):
    return (f"| {d:g} | {seed} | {r.get('rows', '-')} | {r['planted']} | {r['reported']} "
            f"| {frac(r['found_text'], r['planted_text'])} | {frac(r['found_link'], r['planted_link'])} "
            f"| {frac(r['found_repost'], r['planted_repost'])} | {fmt(r['recall'])} | {fmt(r['precision'])} "
            f"| {r['organic_groups']} | {r['merged_groups']} | {r['buried']}/{r['partial']}/{r['missed']} "
            f"| {fmt(r['member_recall'])}/{fmt(r['member_precision'])} | {fmt(r['window_s'], 0)} "
            f"| {fmt(r.get('time_s'))} | {fmt(r.get('rss_mb'), 0)} |")


def total(rs):
    t = {k: sum(r[k] for r in rs) for k in ("planted", "reported", "matched_reported", "found", "organic_groups",
                                            "merged_groups", "buried", "partial", "missed", "planted_accounts",
                                            "planted_in_groups", "accounts_in_groups")}
    for s in STYLES:
        t[f"found_{s}"] = sum(r[f"found_{s}"] for r in rs)
        t[f"planted_{s}"] = sum(r[f"planted_{s}"] for r in rs)
        t[f"recall_{s}"] = t[f"found_{s}"] / t[f"planted_{s}"] if t[f"planted_{s}"] else None
    t["recall"] = t["found"] / t["planted"] if t["planted"] else None
    t["precision"] = t["matched_reported"] / t["reported"] if t["reported"] else None
    t["rows"] = sum(r.get("rows", 0) for r in rs)
    t["time_s"] = sum(r.get("time_s") or 0 for r in rs)
    t["rss_mb"] = max((r.get("rss_mb") or 0 for r in rs), default=0)
    t["window_s"] = None
    t["member_recall"] = t["planted_in_groups"] / t["planted_accounts"] if t["planted_accounts"] else None
    t["member_precision"] = t["planted_in_groups"] / t["accounts_in_groups"] if t["accounts_in_groups"] else None
    return t


def generate(dirn, d, seed, a):
    name = f"ops-d{d:g}-s{seed}-sh{a.shared:g}" + (f"-r{a.rows}" if a.rows else "")
    csv_p, truth_p = os.path.join(dirn, name + ".csv"), os.path.join(dirn, name + ".truth.json")
    if os.path.exists(csv_p) and os.path.exists(truth_p):
        return csv_p, truth_p
    cmd = [sys.executable, os.path.join(HERE, "gen_ops.py"), "--out", csv_p, "--truth", truth_p, "--seed", str(seed),
           "--density", str(d), "--shared", str(a.shared)]
    if a.rows:
        cmd += ["--rows", str(a.rows)]
    subprocess.run(cmd, check=True)
    return csv_p, truth_p


def run_varta(a, csv_p, dirn):
    base = csv_p[:-4] + (f".w{a.window}" if a.window else "") + (".x" if a.extra else "")
    out_p, time_p, err_p = base + ".coord.json", base + ".time", base + ".stderr"
    cmd = [a.varta, "coord", csv_p, "--json"] + (["--window", a.window] if a.window else []) + shlex.split(a.extra or "")
    timer = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    env = dict(os.environ, VARTA_DATA_DIR=os.path.join(dirn, "varta-data"))
    with open(out_p, "w") as out, open(err_p, "w") as err:
        t = time.monotonic()
        if timer:
            p = subprocess.run([timer, "-f", "%e %M", "-o", time_p] + cmd, stdout=out, stderr=err, cwd=dirn, env=env)
        else:
            p = subprocess.run(cmd, stdout=out, stderr=err, cwd=dirn, env=env)
        wall = time.monotonic() - t
    if p.returncode != 0:
        sys.exit(f"varta failed ({p.returncode}): {' '.join(cmd)}\n" + open(err_p).read()[-2000:])
    if timer:
        e, m = open(time_p).read().split()[-2:]
        secs, rss = float(e), int(m) / 1024
    else:
        secs, rss = wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with open(out_p) as f:
        return json.load(f), secs, rss, cmd


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--densities", type=float, nargs="+", default=[1.0])
    ap.add_argument("--shared", type=float, default=0.18)
    ap.add_argument("--rows", type=int, help="override the posts per set (gen_ops.py --rows)")
    ap.add_argument("--window", help="passed as --window (default: varta's own default, auto)")
    ap.add_argument("--extra", help="more arguments for varta coord, one string")
    ap.add_argument("--keep", help="generate into (and reuse sets from) this directory")
    ap.add_argument("--varta", default=os.path.join(ROOT, "target", "release", "varta"))
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--core", action="store_true", help="score reported groups' core members only")
    ap.add_argument("--score", help="score this existing `varta coord --json` output (needs --truth)")
    ap.add_argument("--truth")
    a = ap.parse_args()

    if a.score:
        if not a.truth:
            ap.error("--score needs --truth")
        with open(a.truth) as f:
            truth = json.load(f)
        with open(a.score) as f:
            r = score(truth, json.load(f), a.core)
        r["rows"] = truth.get("rows")
        print(HEAD)
        print(SEP)
        print(row(truth.get("density", 0), truth.get("seed", "-"), r))
        report_groups([r])
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"score": a.score, "truth": a.truth, "core": a.core, "result": r}, f, indent=1)
        return

    a.varta = os.path.abspath(a.varta)
    if not os.access(a.varta, os.X_OK):
        sys.exit(f"no varta binary at {a.varta}")
    tmp = None
    if a.keep:
        dirn = os.path.abspath(a.keep)
        os.makedirs(dirn, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="coord-quality-")
        dirn = tmp.name
    results = []
    print(HEAD, flush=True)
    print(SEP, flush=True)
    for d in a.densities:
        for seed in a.seeds:
            csv_p, truth_p = generate(dirn, d, seed, a)
            with open(truth_p) as f:
                truth = json.load(f)
            out, secs, rss, cmd = run_varta(a, csv_p, dirn)
            r = score(truth, out, a.core)
            r.update({"density": d, "seed": seed, "rows": truth["rows"], "accounts": truth.get("accounts"),
                      "time_s": secs, "rss_mb": rss, "command": cmd, "set": csv_p if a.keep else None})
            results.append(r)
            print(row(d, seed, r), flush=True)
    print()
    print("Totals (sums over seeds; recall per style = found / planted):")
    print(HEAD.replace("| seed |", "| seeds |"))
    print(SEP)
    totals = {}
    for d in a.densities:
        t = total([r for r in results if r["density"] == d])
        totals[f"{d:g}"] = t
        print(row(d, len(a.seeds), t))
    t = total(results)
    totals["all"] = t
    print(row(0, len(a.seeds), t).replace("| 0 |", "| all |", 1))
    print()
    print("Recall per style, all sets: " + ", ".join(
        f"{s} {fmt(t[f'recall_{s}'])} ({t[f'found_{s}']}/{t[f'planted_{s}']})" for s in STYLES)
        + f"; precision {fmt(t['precision'])} ({t['matched_reported']}/{t['reported']}),"
        f" organic groups {t['organic_groups']}, merged {t['merged_groups']}")
    report_groups(results)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"args": {k: v for k, v in vars(a).items()}, "runs": results, "totals": totals}, f, indent=1)
    if tmp:
        tmp.cleanup()


def report_groups(results):
    """Found share by planted group size and jitter: where the misses are."""
    per = [x for r in results for x in r["planted_groups"]]
    if not per:
        return
    def line(label, sel):
        xs = [x for x in per if sel(x)]
        if xs:
            f = sum(1 for x in xs if x["status"] == "found")
            return f"{label} {f}/{len(xs)}"
        return None
    parts = [line(f"size {lo}-{hi}", lambda x, lo=lo, hi=hi: lo <= x["size"] <= hi) for lo, hi in ((5, 10), (11, 17), (18, 25))]
    parts += [line(f"jitter {lo}-{hi}s", lambda x, lo=lo, hi=hi: lo <= x["jitter_s"] <= hi) for lo, hi in ((5, 15), (16, 30), (31, 45))]
    parts += [line(f"pushes {lo}-{hi}", lambda x, lo=lo, hi=hi: lo <= x["pushes"] <= hi) for lo, hi in ((2, 3), (4, 6))]
    print("Found by planted group: " + ", ".join(p for p in parts if p))


if __name__ == "__main__":
    main()
