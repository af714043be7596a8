#!/usr/bin/env python3
"""Writes crates/varta-app/data/disarm.json: the DISARM objects `varta export stix` references, taken
from the official DISARM STIX bundle (../shared/disarm/DISARM.json, CC BY-SA 4.0, DISARM Foundation)
with their ids, names, descriptions and external references unchanged, so that OpenCTI and MISP merge
them with the DISARM they already hold. The one change: each technique's kill chain is named `disarm`,
as OpenCTI's DISARM importer names it, so that the techniques never land in the ATT&CK matrix.

  python3 scripts/disarm_subset.py [../shared/disarm/DISARM.json]"""
import json, pathlib, sys

TECHNIQUES = ["T0084.001", "T0119", "T0049", "T0049.001", "T0049.003", "T0118"]
root = pathlib.Path(__file__).resolve().parent.parent
src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else root.parent / "shared" / "disarm" / "DISARM.json")
bundle = json.load(open(src, encoding="utf-8"))
out, refs = [], set()
for o in bundle["objects"]:
    if o["type"] != "attack-pattern":
        continue
    ext = [r.get("external_id") for r in o.get("external_references", [])]
    if not any(e in TECHNIQUES for e in ext):
        continue
    o = dict(o)
    o["kill_chain_phases"] = [dict(p, kill_chain_name="disarm") for p in o.get("kill_chain_phases", [])]
    refs.add(o.get("created_by_ref"))
    refs.update(o.get("object_marking_refs", []))
    out.append(o)
found = {r.get("external_id") for o in out for r in o["external_references"]}
missing = [t for t in TECHNIQUES if t not in found]
if missing:
    sys.exit(f"not in {src}: {missing}")
support = [o for o in bundle["objects"] if o["id"] in refs]
dst = root / "crates" / "varta-app" / "data" / "disarm.json"
json.dump({"source": "DISARM Framework STIX bundle (DISARM Foundation), CC BY-SA 4.0; kill chain renamed to disarm",
           "objects": support + sorted(out, key=lambda o: o["id"])},
          open(dst, "w", encoding="utf-8"), ensure_ascii=False, indent=1)
print(f"{dst}: {len(out)} techniques, {len(support)} supporting objects")
