#!/usr/bin/env python3
"""Replay OpenCTI's built-in TAXII 2.1 feed ingester against a TAXII server.

Where the pattern comes from (OpenCTI-Platform/opencti, opencti-graphql):
  src/manager/ingestion/ingestionTaxii.ts (older releases kept the same code in
  src/manager/ingestionManager.ts): prepareTaxiiGetParam(), taxiiHttpGet(),
  processTaxiiResponse(); driven once per manager tick by
  ingestionQueueExecution() in src/manager/ingestion/ingestionExecutor.ts.

What OpenCTI does, in short:
  * State per feed: `current_state_cursor` (a TAXII `next` token) and
    `added_after_start` (a date, optionally set by the user, else unset).
  * Each tick sends ONE request:
        GET {uri}/collections/{collection}/objects/
            ?next=<current_state_cursor>&added_after=<added_after_start>[&limit=N]
    Unset values are left out (axios drops undefined). When both are set they
    are sent TOGETHER: the `next` token comes with the same original
    `added_after`. `limit` is only sent if the operator configured
    `ingestion_manager:taxii_feed:limit_per_request` (default 0 = not sent).
    Headers: `Accept: application/taxii+json;version=2.1` and
    `Authorization: Bearer <token>` (or Basic, or a client certificate).
  * It reads the body fields `objects`, `more`, `next` and the response header
    `X-TAXII-Date-Added-Last` (X-TAXII-Date-Added-First is only logged).
  * If the envelope has no objects (missing or empty): nothing changes; the
    next tick repeats the same request.  This is the only way the loop "runs
    dry", so the replay stops there.
  * If it has objects and `more` is true and `next` is non-empty:
    current_state_cursor = next, added_after_start unchanged.
  * Otherwise (more false/absent, or more true without next):
    current_state_cursor = unset, added_after_start =
    utcDate(X-TAXII-Date-Added-Last).toISOString() -- i.e. re-serialised by
    moment.js as YYYY-MM-DDTHH:MM:SS.sssZ (MILLISECOND precision, truncated) --
    or now() when the header is absent.
  * Non-2xx or transport errors: logged, state unchanged, retried next tick.

Consequences for a server (all of which this replay detects):
  * `added_after` must be strictly "after" (exclusive), or the last object
    comes back on every tick.
  * `X-TAXII-Date-Added-Last` must be present on every non-empty page and its
    value must survive truncation to milliseconds: if date_added values carry
    micro/nanoseconds, the truncated `added_after` is earlier than the last
    object's date_added and that object is re-sent forever.
  * A `next` token must keep working when the original `added_after` is sent
    along with it.
  * Never answer `more: true` with zero objects (OpenCTI would stall).

Usage:
  python3 opencti_replay.py BASE_URL COLLECTION_ID TOKEN EXPECTED_IDS_FILE
      [--max-requests N] [--added-after TS] [--limit N]
BASE_URL is the API root, e.g. http://127.0.0.1:PORT/taxii2/varta/.
--added-after / --limit mimic the optional user setting added_after_start and
the optional platform setting limit_per_request (both unset by default, as in
OpenCTI). Stdlib only.

Prints one JSON line:
  {"requests": n, "objects": n, "duplicates": n, "missing": n, "extra": n, "ok": bool}
and exits 0 if ok, else 1. Diagnostics go to stderr.
"""
import argparse
import collections
import datetime as dt
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

ACCEPT = "application/taxii+json;version=2.1"


def axios_encode(value):
    """Query-string encoding as axios' buildURL does (encodeURIComponent, then
    ':', '$', ',', '[', ']' left literal and spaces as '+')."""
    s = urllib.parse.quote(str(value), safe="-_.!~*'()")
    for a, b in (("%3A", ":"), ("%24", "$"), ("%2C", ","), ("%20", "+"), ("%5B", "["), ("%5D", "]")):
        s = s.replace(a, b).replace(a.lower(), b)
    return s


_TS = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:?\d{2})?$"
)


def moment_iso(text):
    """utcDate(text).toISOString(): parse an RFC 3339 timestamp, convert to UTC,
    truncate to milliseconds, format as YYYY-MM-DDTHH:MM:SS.sssZ."""
    m = _TS.match(text.strip())
    if not m:
        raise ValueError("unparseable timestamp %r" % text)
    y, mo, d, h, mi, s, frac, tz = m.groups()
    ms = int((frac or "0")[:3].ljust(3, "0"))
    t = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), ms * 1000)
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        hh, mm = int(tz[1:3]), int(tz[-2:])
        t -= sign * dt.timedelta(hours=hh, minutes=mm)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def now_iso():
    t = dt.datetime.now(dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def log(msg):
    sys.stderr.write("opencti_replay: %s\n" % msg)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base_url")
    ap.add_argument("collection_id")
    ap.add_argument("token")
    ap.add_argument("expected_ids_file")
    ap.add_argument("--max-requests", type=int, default=10000)
    ap.add_argument("--added-after", default=None, help="initial added_after_start (default: unset)")
    ap.add_argument("--limit", type=int, default=0, help="limit_per_request (default 0 = not sent)")
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()

    with open(args.expected_ids_file, encoding="utf-8") as fh:
        expected = {line.strip() for line in fh if line.strip()}

    base = args.base_url if args.base_url.endswith("/") else args.base_url + "/"
    url = "%scollections/%s/objects/" % (base, args.collection_id)
    headers = {"Accept": ACCEPT, "Authorization": "Bearer %s" % args.token}

    # Ingestion state, as stored on the IngestionTaxii entity.
    cursor = None
    added_after = moment_iso(args.added_after) if args.added_after else None

    pairs = collections.Counter()
    ids = set()
    requests_made = 0
    objects_total = 0
    error = None
    ran_dry = False

    while requests_made < args.max_requests:
        params = []  # same key order as prepareTaxiiGetParam
        if cursor is not None:
            params.append(("next", cursor))
        if added_after is not None:
            params.append(("added_after", added_after))
        if args.limit > 0:
            params.append(("limit", args.limit))
        query = "&".join("%s=%s" % (k, axios_encode(v)) for k, v in params)
        full = url + ("?" + query if query else "")
        requests_made += 1
        req = urllib.request.Request(full, headers=headers, method="GET")
        try:
            with urllib.request.urlopen(req, timeout=args.timeout) as resp:
                raw = resp.read()
                added_last = resp.headers.get("X-TAXII-Date-Added-Last")
        except urllib.error.HTTPError as e:
            # OpenCTI would log the failure and retry the same request next tick.
            error = "HTTP %s on %s: %s" % (e.code, full, e.read()[:300].decode("utf-8", "replace"))
            break
        except (urllib.error.URLError, OSError) as e:
            error = "transport error on %s: %s" % (full, e)
            break
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError as e:
            error = "response to %s is not JSON: %s" % (full, e)
            break
        if not isinstance(data, dict):
            error = "response to %s is not a JSON object" % full
            break

        objects = data.get("objects") or []
        more = data.get("more") or False
        nxt = data.get("next")
        if not objects:
            # OpenCTI: "taxii server has not sent any object" -> no state change.
            if more:
                log("server said more=true with no objects (OpenCTI would stall here)")
            ran_dry = True
            break

        for obj in objects:
            objects_total += 1
            oid = obj.get("id") if isinstance(obj, dict) else None
            version = (obj.get("modified") or obj.get("created") or "") if isinstance(obj, dict) else ""
            pairs[(oid, version)] += 1
            ids.add(oid)

        if more and nxt not in (None, ""):
            cursor = nxt  # added_after_start untouched
        else:
            cursor = None
            if added_last:
                try:
                    added_after = moment_iso(added_last)
                except ValueError as e:
                    error = "bad X-TAXII-Date-Added-Last on %s: %s" % (full, e)
                    break
            else:
                log("no X-TAXII-Date-Added-Last on %s; OpenCTI falls back to now()" % full)
                added_after = now_iso()

    hit_cap = not ran_dry and error is None
    if hit_cap:
        log("hit --max-requests=%d without running dry: endless loop?" % args.max_requests)
    if error:
        log(error)

    duplicates = sum(c - 1 for c in pairs.values() if c > 1)
    missing = len(expected - ids)
    extra = len(ids - expected)
    if duplicates:
        dup = [k for k, c in pairs.items() if c > 1][:5]
        log("duplicated (id, version) pairs, e.g. %s" % dup)
    if missing:
        log("missing ids, e.g. %s" % sorted(expected - ids)[:5])
    if extra:
        log("unexpected ids, e.g. %s" % sorted(i for i in ids - expected if i is not None)[:5])

    ok = ran_dry and error is None and duplicates == 0 and missing == 0 and extra == 0
    print(json.dumps({
        "requests": requests_made,
        "objects": objects_total,
        "duplicates": duplicates,
        "missing": missing,
        "extra": extra,
        "ok": ok,
    }))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
