#!/usr/bin/env python3
"""Days of posts for `varta watch`'s memory bench: RATE posts per hour over the HOURS hours
(default 48) that end now, one JSON-lines file per hour (posts with authors, hashtags, links and
times). Writes them to OUT_DIR/hour-NN.jsonl.src; the bench drops them into the watched folder.
Usage: day.py OUT_DIR [RATE] [HOURS]"""
import json, os, random, sys, time
out, rate = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100000
rng = random.Random(7)
# Words of a 30,000-word pseudo-vocabulary (syllable strings, Zipf-like use), so that unrelated posts
# share word triples as rarely as real ones; one post in 50 says "... під контролем" / "under control"
# (the control rule's phrases) and one in 100 copies one of the hour's 20 campaign texts.
SYL = "ка ло ми ра те ну сі до ве жа бо ли за пі ко ру".split()
def word(w):
    return "".join(SYL[(w >> (4 * k)) & 15] for k in range(4))
VOCAB = [word(w) for w in range(30000)]
def post(rng):
    n = rng.randint(12, 40)
    return " ".join(VOCAB[int(30000 * rng.random() ** 2)] for _ in range(n))
os.makedirs(out, exist_ok=True)
hours = int(sys.argv[3]) if len(sys.argv) > 3 else 48
end = int(time.time())
start = end - hours * 3600
for h in range(hours):
    with open(os.path.join(out, f"hour-{h:02d}.jsonl.src"), "w") as f:
        campaigns = [post(rng) for _ in range(20)]
        for i in range(rate):
            t = start + h * 3600 + i * 3600 // rate
            r = rng.random()
            if r < 0.01:
                text = campaigns[rng.randrange(20)]
            else:
                text = post(rng)
                if r < 0.03:
                    text += rng.choice([" ситуація під контролем", " the situation is under control"])
            text += f" #тег{rng.randint(0, 2000)} https://site{rng.randint(0, 300)}.example/{rng.randint(0, 5000)} ({h}-{i})"
            f.write(json.dumps({"id": f"{h}-{i}", "text": text, "author": f"acct{rng.randint(0, 20000)}",
                                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))},
                               ensure_ascii=False) + "\n")
