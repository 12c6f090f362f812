#!/usr/bin/env python3
"""export_check.py - GET /export's answers recomputed from the stored raw events
(tests/it/it_export.sh).

Usage:
  export_check.py gen N SITE PAD         the test's events (extended JSON lines), each with a
                                         property of PAD bytes
  export_check.py check STORED.jsonl FORMAT,ORDER,FILE[,CURSOR]...
  export_check.py cursor FILE K          the cursor after line K (1-based) of FILE

STORED.jsonl holds the stored documents as mongoq prints them (relaxed extended JSON); each FILE
is an export (FORMAT ndjson or csv) of one day or range that holds all of them. The expected
answer: the documents sorted by (timestamp, _id) in ORDER (asc or desc), after CURSOR
(`<timestamp>,<id>`) when given; NDJSON
lines are "id" (the _id), then every other stored field in its stored order, dates as
YYYY-MM-DDTHH:MM:SS.mmmZ (docs/api.md); CSV (read back with the csv module) has the header of
docs/api.md and each field's value, an empty cell when absent or null, properties as JSON.
Prints "ok - ..." or "not ok - ..." (with what differs) per FILE; exit 1 when any differs.
"""
import csv
import datetime
import io
import json
import sys

COLUMNS = ["id", "site_id", "event_type", "path", "user_id", "timestamp", "received_at",
           "client_timestamp", "createdAt", "delivery", "visitor_source", "country", "source",
           "medium", "channel", "utm_source", "utm_medium", "utm_campaign", "utm_term",
           "utm_content", "browser", "browser_version", "os", "os_version", "device",
           "visit_id", "visit_seq", "visit_start", "properties"]
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
BASE_MS = 1763164800000  # 2025-11-15T00:00:00Z


def ms_of(text):
    """Milliseconds of an RFC 3339 instant ending in Z."""
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (t - EPOCH) // datetime.timedelta(milliseconds=1)


def rfc3339(ms):
    t = EPOCH + datetime.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def is_date(v):
    return isinstance(v, dict) and list(v) == ["$date"]


def date_ms(v):
    d = v["$date"]
    return int(d["$numberLong"]) if isinstance(d, dict) else ms_of(d)


def gen(n, site, pad):
    """N events of SITE on 2025-11-15, three to a timestamp, ids not in time order, every
    field the processor writes on some of them, properties that need quoting."""
    for i in range(n):
        ts = BASE_MS + (i // 3) * 997
        d = {"_id": "%s:e%06d" % (site, (i * 7919) % n), "site_id": site,
             "event_type": ["page_view", "click", "signup"][i % 3],
             "path": "/p%d" % (i % 11) if i % 13 else None,
             "user_id": "u%d" % (i % 50) if i % 9 else None}
        if d["user_id"] is not None:
            d["visitor_source"] = ["client", "device", "hash"][i % 3]
            d["visit_id"] = "%s:v%d" % (site, i // 7)
            d["visit_seq"] = {"$numberLong": str(i % 7 + 1)}
            d["visit_start"] = {"$date": {"$numberLong": str(ts - 1000)}}
        if i % 4 == 0:
            d.update(country="DE", source="Google", medium="organic", channel="Organic Search",
                     utm_source="news,letter", utm_medium="e\"mail", utm_campaign="c",
                     utm_term="t\r\nu", utm_content="x", browser="Firefox", browser_version="120",
                     os="Linux", os_version="6", device="desktop")
        d["timestamp"] = {"$date": {"$numberLong": str(ts)}}
        d["createdAt"] = {"$date": {"$numberLong": str(ts + 5)}}
        d["received_at"] = {"$date": {"$numberLong": str(ts + 3)}}
        if i % 5 == 0:
            d["client_timestamp"] = {"$date": {"$numberLong": str(ts - 7)}}
        d["delivery"] = "b%d" % (i // 100)
        d["properties"] = {"seq": i, "q": 'say "hi", ok\r\nnext', "f": 1.25, "u": "caf\u00e9",
                           "l": [1, {"k": None}], "pad": "x" * pad}
        d["own"] = {"v": "b%d" % (i // 100)}
        print(json.dumps(d, ensure_ascii=False))


def stored(all_docs, order, cursor):
    docs = sorted(all_docs, key=lambda d: (date_ms(d["timestamp"]), d["_id"].encode()),
                  reverse=order == "desc")
    if cursor:
        ts, _, cid = cursor.partition(",")
        key = (ms_of(ts), cid.encode())
        after = (lambda k: k > key) if order == "asc" else (lambda k: k < key)
        docs = [d for d in docs if after((date_ms(d["timestamp"]), d["_id"].encode()))]
    return docs


def plain(v):
    """A stored value as the export writes it: dates as instants, int64 as numbers."""
    if is_date(v):
        return rfc3339(date_ms(v))
    if isinstance(v, dict) and list(v) == ["$numberLong"]:
        return int(v["$numberLong"])
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def expected_line(d):
    out = [("id", d["_id"])]
    out += [(k, plain(v)) for k, v in d.items() if k != "_id"]
    return out


def check_ndjson(docs, path):
    lines = open(path, "rb").read().split(b"\n")
    if lines[-1] != b"":
        return "the export does not end with a newline"
    lines = lines[:-1]
    if len(lines) != len(docs):
        return "%d lines, %d expected" % (len(lines), len(docs))
    for i, (line, d) in enumerate(zip(lines, docs)):
        got = list(json.loads(line, object_pairs_hook=list))
        want = expected_line(d)
        if [(k, json.loads(json.dumps(v), object_pairs_hook=list)) for k, v in want] != got:
            return "line %d: %s\nexpected: %s" % (i + 1, line[:300], json.dumps(dict(want))[:300])
    return None


def cell(d, col):
    v = d.get("_id" if col == "id" else col)
    if v is None:
        return ""
    v = plain(v)
    if isinstance(v, (dict, list)):
        return v
    return str(v)


def check_csv(docs, path):
    with open(path, newline="", encoding="utf-8") as f:
        raw = f.read()
    if not raw.endswith("\r\n"):
        return "the CSV does not end with CRLF"
    rows = list(csv.reader(io.StringIO(raw, newline="")))
    if rows[0] != COLUMNS:
        return "header %s" % rows[0]
    rows = rows[1:]
    if len(rows) != len(docs):
        return "%d records, %d expected" % (len(rows), len(docs))
    for i, (row, d) in enumerate(zip(rows, docs)):
        for col, got in zip(COLUMNS, row):
            want = cell(d, col)
            if isinstance(want, (dict, list)):
                ok = json.loads(got) == want
            else:
                ok = got == want
            if not ok:
                return "record %d column %s: %r, expected %r" % (i + 1, col, got, want)
        if len(row) != len(COLUMNS):
            return "record %d has %d cells" % (i + 1, len(row))
    return None


def main():
    verb = sys.argv[1]
    if verb == "gen":
        gen(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
        return 0
    if verb == "cursor":
        line = open(sys.argv[2], encoding="utf-8").read().split("\n")[int(sys.argv[3]) - 1]
        ev = json.loads(line)
        print("%s,%s" % (ev["timestamp"], ev["id"]))
        return 0
    all_docs = [json.loads(line) for line in open(sys.argv[2], encoding="utf-8") if line.strip()]
    rc = 0
    for spec in sys.argv[3:]:
        fmt, order, path, *cursor = spec.split(",", 3)
        docs = stored(all_docs, order, cursor[0] if cursor else None)
        why = (check_ndjson if fmt == "ndjson" else check_csv)(docs, path)
        what = "%s %s%s: %d events as recomputed" % (fmt, order, " after a cursor" if cursor else "",
                                                     len(docs))
        if why:
            print("not ok - %s\n# %s" % (what, why.replace("\n", "\n# ")))
            rc = 1
        else:
            print("ok - " + what)
    return rc


if __name__ == "__main__":
    sys.exit(main())
