#!/usr/bin/env python3
"""Days of posts for `varta watch`'s memory bench: RATE posts per hour over the HOURS hours
(default 48) that end now, one JSON-lines file per hour (posts with authors, hashtags, links and
times). Writes them to OUT_DIR/hour-NN.jsonl.src; the bench drops them into the watched folder.
Usage: day.py OUT_DIR [RATE] [HOURS]"""
import json, os, random, sys, time
out, rate = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100000
rng = random.Random(7)
words = ("влада заявила що ситуація під контролем енергетики працюють над відновленням the ministry "
         "said the situation is under control министерство сообщило что ситуация под контролем").split()
os.makedirs(out, exist_ok=True)
hours = int(sys.argv[3]) if len(sys.argv) > 3 else 48
end = int(time.time())
start = end - hours * 3600
for h in range(hours):
    with open(os.path.join(out, f"hour-{h:02d}.jsonl.src"), "w") as f:
        for i in range(rate):
            t = start + h * 3600 + i * 3600 // rate
            text = " ".join(rng.choice(words) for _ in range(rng.randint(12, 40)))
            text += f" #тег{rng.randint(0, 2000)} https://site{rng.randint(0, 300)}.example/{rng.randint(0, 5000)} ({h}-{i})"
            f.write(json.dumps({"id": f"{h}-{i}", "text": text, "author": f"acct{rng.randint(0, 20000)}",
                                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))},
                               ensure_ascii=False) + "\n")
