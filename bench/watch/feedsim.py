#!/usr/bin/env python3
"""A local news source and alert receiver for `varta watch` benchmarks and examples.

One process, two HTTP servers on 127.0.0.1:
  - a feed server: /feed.xml (RSS 2.0, the newest --window items, ETag and Last-Modified,
    304 on If-None-Match / If-Modified-Since), /robots.txt; and, with --folder, JSON-lines
    files dropped into that folder (written as .part, then renamed);
  - a webhook receiver: POST /hook takes CloudEvents, checks the X-Varta-Signature HMAC,
    and logs every delivery.

Posts arrive at --rate per hour, split between the feed and the folder. Every --marker-every
seconds one post carries a marker word `vartamarkerN` (a rule per marker in the watcher's
configuration makes each one alert); its appearance time is logged, so the latency from a post
appearing to its alert arriving is measured here. Writes results to --out (JSON) on exit.
"""
import argparse, hashlib, hmac, http.server, json, os, random, signal, sys, threading, time
from email.utils import formatdate

ap = argparse.ArgumentParser()
ap.add_argument("--feed-port", type=int, default=0)
ap.add_argument("--hook-port", type=int, default=0)
ap.add_argument("--rate", type=float, default=100000, help="posts per hour, feed and folder together")
ap.add_argument("--folder", default=None, help="also drop JSON-lines files here (half the posts)")
ap.add_argument("--file-every", type=float, default=5.0, help="seconds between dropped files")
ap.add_argument("--window", type=int, default=3000, help="items the feed shows")
ap.add_argument("--marker-every", type=float, default=20.0)
ap.add_argument("--markers", type=int, default=50, help="stop making markers after this many")
ap.add_argument("--duration", type=float, default=600.0)
ap.add_argument("--secret", default="bench-secret")
ap.add_argument("--fail-first", type=int, default=0, help="answer 500 to the first N deliveries")
ap.add_argument("--settle", type=float, default=25.0, help="seconds to keep serving after the last post")
ap.add_argument("--out", default="feedsim.json")
ap.add_argument("--ports-file", default=None, help="write 'feed_port hook_port' here once listening")
args = ap.parse_args()

lock = threading.Lock()
items = []  # (seq, guid, title, text, pubdate_epoch)
markers = {}  # marker -> {"appeared": t, "where": "feed"|"folder"}
deliveries = []  # {"id", "type", "trigger", "revision", "t", "signature_ok"}
feed_hits = {"200": 0, "304": 0}
seq = 0
WORDS = ("влада заявила що ситуація під контролем енергетики працюють над відновленням "
         "the ministry said the situation is under control engineers are working on repairs "
         "министерство сообщило что ситуация под контролем специалисты работают").split()


def post_text(rng, marker=None):
    n = rng.randint(12, 40)
    words = [rng.choice(WORDS) for _ in range(n)]
    words.append(f"#тег{rng.randint(0, 500)}")
    if marker:
        words.insert(rng.randint(0, len(words)), marker)
    return " ".join(words) + f" ({rng.randint(0, 10**9)})"


class Feed(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path == "/robots.txt":
            body = b"User-agent: *\nDisallow: /private/\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path != "/feed.xml":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with lock:
            shown = items[-args.window:]
        etag = '"%d"' % (shown[-1][0] if shown else 0)
        last = formatdate(shown[-1][4] if shown else 0, usegmt=True)
        if self.headers.get("If-None-Match") == etag:
            with lock:
                feed_hits["304"] += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        out = ['<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
               '<title>feedsim</title><link>http://feedsim.local/</link><description>sim</description>']
        for s, guid, title, text, pub in reversed(shown):
            out.append(f"<item><title>{title}</title><link>http://feedsim.local/p/{guid}</link>"
                       f"<guid>{guid}</guid><pubDate>{formatdate(pub, usegmt=True)}</pubDate>"
                       f"<description>{text}</description></item>")
        out.append("</channel></rss>")
        body = "".join(out).encode()
        with lock:
            feed_hits["200"] += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", last)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        t = time.time()
        with lock:
            fail = args.fail_first > 0
            if fail:
                args.fail_first -= 1
        if fail:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        want = "sha256=" + hmac.new(args.secret.encode(), body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(want, self.headers.get("X-Varta-Signature", ""))
        try:
            ev = json.loads(body)
            rec = {"id": ev["id"], "type": ev["type"], "trigger": ev["data"]["trigger"],
                   "revision": ev["data"]["revision"], "t": t, "signature_ok": ok,
                   "specversion": ev.get("specversion"),
                   "content_type": self.headers.get("Content-Type", "")}
        except Exception as e:  # a malformed event is logged, not fatal
            rec = {"error": str(e), "t": t, "signature_ok": ok}
        with lock:
            deliveries.append(rec)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


def serve(handler, port):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


feed = serve(Feed, args.feed_port)
hook = serve(Hook, args.hook_port)
if args.ports_file:
    tmp = args.ports_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{feed.server_address[1]} {hook.server_address[1]}\n")
    os.replace(tmp, args.ports_file)
print(f"feed http://127.0.0.1:{feed.server_address[1]}/feed.xml  hook http://127.0.0.1:{hook.server_address[1]}/hook", flush=True)

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
signal.signal(signal.SIGINT, lambda *a: stop.set())

rng = random.Random(1729)
start = time.time()
next_marker = start + 5.0
marker_n = 0
next_file = start + args.file_every
pending_file = []
folder_share = 0.5 if args.folder else 0.0
interval = 3600.0 / args.rate
tick = start
last_round = False
while not last_round:
    now = time.time()
    # Posts due by now, at the steady rate.
    while tick <= now:
        tick += interval
        seq += 1
        marker = None
        if now >= next_marker and marker_n < args.markers:
            marker = f"vartamarker{marker_n}"
            marker_n += 1
            next_marker += args.marker_every
        text = post_text(rng, marker)
        if rng.random() < folder_share:
            pending_file.append({"id": f"f{seq}", "text": text, "author": f"acct{rng.randint(0, 999)}",
                                 "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                                 "marker": marker})
        else:
            with lock:
                items.append((seq, f"g{seq}", f"post {seq}", text, now))
                if len(items) > 4 * args.window:
                    del items[: len(items) - 2 * args.window]
                if marker:
                    markers[marker] = {"appeared": time.time(), "where": "feed"}
    last_round = time.time() - start >= args.duration or stop.is_set()
    if args.folder and (now >= next_file or last_round):
        next_file += args.file_every
        if pending_file:
            name = os.path.join(args.folder, f"drop-{seq}.jsonl")
            with open(name + ".part", "w") as f:
                for p in pending_file:
                    m = p.pop("marker")
                    f.write(json.dumps(p, ensure_ascii=False) + "\n")
            os.replace(name + ".part", name)
            t = time.time()
            with lock:
                for p in pending_file:
                    for w in p["text"].split():
                        if w.startswith("vartamarker"):
                            markers[w] = {"appeared": t, "where": "folder"}
            pending_file = []
    time.sleep(0.05)

# Keep serving while the watcher collects the last posts (at least --settle seconds: two feed
# polls), and give the last alerts time to arrive (at most FEEDSIM_GRACE seconds).
grace = float(os.environ.get("FEEDSIM_GRACE", "90"))
ended = time.time()
deadline = ended + grace
while time.time() < deadline and not stop.is_set():
    with lock:
        got = {d.get("trigger") for d in deliveries}
    if time.time() - ended >= args.settle and all(f"marker {m[len('vartamarker'):]}" in got for m in markers):
        break
    time.sleep(0.5)

with lock:
    res = {"posts": seq, "markers": markers, "deliveries": deliveries, "feed_hits": feed_hits,
           "seconds": time.time() - start}
with open(args.out, "w") as f:
    json.dump(res, f)
print(f"feedsim: {seq} posts, {len(markers)} markers, {len(deliveries)} deliveries", flush=True)
