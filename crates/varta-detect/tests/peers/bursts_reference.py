#!/usr/bin/env python3
"""Bursts of each series by the reference two-state Kleinberg automaton, PyPI burst_detection 0.1.3.

Usage: python3 bursts_reference.py SERIES.jsonl
Each input line: {"r": [targets per period], "d": [documents per period], "s": S, "gamma": G}.
Each output line: {"bursts": [[begin, end, weight], ...]} in time order (smooth_win = 1).
burst_detection 0.1.3 needs numpy < 1.24 (it uses np.float) and pandas < 2: pin numpy==1.23.5,
pandas==1.5.3, mpmath==1.3.0.
"""
import json
import sys
import warnings

import burst_detection as bd
import pandas as pd

warnings.simplefilter("ignore")

for line in open(sys.argv[1]):
    x = json.loads(line)
    r, d = pd.Series(x["r"]), pd.Series(x["d"])
    q, d, r, p = bd.burst_detection(r, d, len(r), s=x["s"], gamma=x["gamma"], smooth_win=1)
    b = bd.enumerate_bursts(q, "x")
    b = bd.burst_weights(b, r, d, p).sort_values(by="begin")
    print(json.dumps({"bursts": [[int(row.begin), int(row.end), float(row.weight)] for row in b.itertuples()]}))
