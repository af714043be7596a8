#!/usr/bin/env python3
"""Walk a TAXII 2.1 collection with the OASIS reference client (taxii2-client).

Pinned: taxii2-client==2.3.0 (needs `requests`).

Usage:
  python3 taxii_client_pages.py API_ROOT_URL COLLECTION_ID TOKEN EXPECTED_IDS_FILE
      [--sizes 1,7,100,1000] [--user varta] [--max-pages 10000]

Authenticates with HTTP Basic (user any, password = TOKEN), as TAXII clients do.
Checks, printing one JSON line each:
  * discovery: Server(<API_ROOT_URL minus its last path segment>) -> api_roots
    -> the API root equal to API_ROOT_URL -> its collections -> COLLECTION_ID,
    which must be readable;
  * for every page size: taxii2client.v21.as_pages(collection.get_objects,
    per_request=SIZE) yields every object exactly once ((id, modified|created)
    pairs), the set of ids equals EXPECTED_IDS_FILE, no page holds more than
    SIZE objects, and the walk ends within --max-pages pages.
Exit status 0 only if every line has "ok": true.

What taxii2-client 2.3.0 requires from the server (read from its source,
taxii2client/common.py and taxii2client/v21/__init__.py):
  * Content-Type of EVERY response it reads (discovery, API root, collections,
    objects): split on ';' after removing spaces, the first token must be
    exactly `application/taxii+json` and the token `version=2.1` must be present
    (case-sensitive, unquoted). So `application/taxii+json;version=2.1` and
    `application/taxii+json; version=2.1` pass, extra params such as
    `;charset=utf-8` are tolerated, but `application/json`, a missing header
    (KeyError), `application/taxii+json` without version, or `version="2.1"`
    fail with TAXIIServiceException. Non-2xx raises requests.HTTPError.
  * Requests carry `Accept: application/taxii+json;version=2.1` (no space).
  * Discovery must have a non-empty `title`; `api_roots` entries are resolved
    with urljoin against the discovery URL (absolute or relative both work);
    a trailing '/' is added if missing.
  * API root info: non-empty `title`, non-empty `versions`, and
    `max_content_length` present (may be 0 but not null/missing).
  * Collections: GET {api_root}collections/ -> {"collections": [...]}; each item
    needs `id`, `title`, `can_read`, `can_write` (booleans, not null); the
    client builds {api_root}collections/{id}/ and requires id to appear in it.
  * get_objects: GET {api_root}collections/{id}/objects/?limit=N[&next=TOKEN].
    as_pages(func, per_request=N):
      - first request: limit=N only (limit omitted if N == 0);
      - it reads ONLY the body fields `more` and `next` (and `objects`, which
        may be absent when empty). No response header is used; `added_after` /
        X-TAXII-Date-Added-* play no part.
      - loop while envelope.get("more") is truthy: next request is
        limit=N&next=<envelope["next"]>. If `more` is true but `next` is absent
        or "", the empty value is dropped from the query, so the client refetches
        the FIRST page forever: the server MUST send a non-empty `next`
        whenever more is true. A missing `more` means false (stop).
      - `limit` semantics: after the FIRST page only, if more is true and the
        page holds a different number of objects than asked, the client logs a
        warning and uses that count as `limit` from then on (it assumes the
        server clamps to a maximum page size). A server returning fewer than
        asked is therefore fine; a first page with 0 objects and more=true
        drops `limit` altogether. It never checks the page for exceeding
        `limit` (this script does).
  * `next` is sent back verbatim (requests URL-encodes it), together with the
    same limit; the server must accept the token with that limit.
"""
import argparse
import collections
import json
import logging
import sys
from urllib.parse import urlsplit, urlunsplit

from taxii2client.v21 import Server, as_pages


def norm(url):
    return url if url.endswith("/") else url + "/"


def discovery_url_of(api_root_url):
    parts = urlsplit(api_root_url)
    path = parts.path.rstrip("/")
    parent = path.rsplit("/", 1)[0] + "/"
    return urlunsplit((parts.scheme, parts.netloc, parent, "", ""))


def emit(record):
    print(json.dumps(record), flush=True)
    return bool(record.get("ok"))


def main():
    ap = argparse.ArgumentParser(description="taxii2-client as_pages walk")
    ap.add_argument("api_root_url")
    ap.add_argument("collection_id")
    ap.add_argument("token")
    ap.add_argument("expected_ids_file")
    ap.add_argument("--sizes", default="1,7,100,1000")
    ap.add_argument("--user", default="varta")
    ap.add_argument("--max-pages", type=int, default=10000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    with open(args.expected_ids_file, encoding="utf-8") as fh:
        expected = {line.strip() for line in fh if line.strip()}
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    api_root_url = norm(args.api_root_url)
    disc_url = discovery_url_of(api_root_url)
    all_ok = True

    # Discovery -> API root -> collections -> collection.
    collection = None
    rec = {"check": "discovery", "discovery_url": disc_url, "ok": False}
    try:
        server = Server(disc_url, user=args.user, password=args.token)
        rec["title"] = server.title
        roots = {norm(r.url): r for r in server.api_roots}
        rec["api_roots"] = sorted(roots)
        root = roots.get(api_root_url)
        if root is None:
            rec["error"] = "API root %s not listed by discovery" % api_root_url
        else:
            rec["versions"] = root.versions
            rec["max_content_length"] = root.max_content_length
            found = [c for c in root.collections if c.id == args.collection_id]
            rec["collections"] = [c.id for c in root.collections]
            if not found:
                rec["error"] = "collection %s not listed" % args.collection_id
            elif not found[0].can_read:
                rec["error"] = "collection %s has can_read=false" % args.collection_id
            elif "application/taxii+json;version=2.1" not in (root.versions or []):
                rec["error"] = "API root versions lack application/taxii+json;version=2.1"
            else:
                collection = found[0]
                rec["ok"] = True
    except Exception as e:  # noqa: BLE001 - report any client failure
        rec["error"] = "%s: %s" % (type(e).__name__, e)
    all_ok &= emit(rec)
    if collection is None:
        sys.exit(1)

    for size in sizes:
        pairs = collections.Counter()
        ids = set()
        pages = objects = over_limit = 0
        rec = {"size": size}
        try:
            for envelope in as_pages(collection.get_objects, per_request=size):
                pages += 1
                objs = envelope.get("objects", []) or []
                objects += len(objs)
                if len(objs) > size:
                    over_limit += 1
                for obj in objs:
                    oid = obj.get("id")
                    pairs[(oid, obj.get("modified") or obj.get("created") or "")] += 1
                    ids.add(oid)
                if pages >= args.max_pages:
                    rec["error"] = "stopped after %d pages: endless pagination?" % pages
                    break
        except Exception as e:  # noqa: BLE001
            rec["error"] = "%s: %s" % (type(e).__name__, e)
        duplicates = sum(c - 1 for c in pairs.values() if c > 1)
        missing = expected - ids
        extra = ids - expected
        rec.update({
            "pages": pages,
            "objects": objects,
            "duplicates": duplicates,
            "missing": len(missing),
            "extra": len(extra),
            "over_limit_pages": over_limit,
        })
        if missing:
            rec["missing_sample"] = sorted(missing)[:3]
        if extra:
            rec["extra_sample"] = sorted(i for i in extra if i is not None)[:3]
        rec["ok"] = ("error" not in rec and duplicates == 0 and not missing
                     and not extra and over_limit == 0)
        all_ok &= emit(rec)

    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
