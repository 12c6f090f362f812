#!/usr/bin/env python3
"""visits_check.py - the first row's figures recomputed from the stored raw events, compared
with every answer of reporting (tests/it/it_figures.sh): the yardstick of issue 23.

Usage: visits_check.py EVENTS.jsonl TIMEOUT_S REPORTING_URL SITE FROM TO

EVENTS.jsonl: the site's stored events as relaxed extended JSON, one a line (tests/tools/mongoq
find). The definitions are docs/api.md's (GET /stats/summary), written here again from the
events' own fields: type, path, user_id, timestamp, received_at, visit_id, visit_seq; nothing
of what ingest or the processors computed but the visit each event was given, and that is
checked first against the arrival times. Then each event's visit-level fields (source ...
utm_content, browser ... device, country) and visit_start are checked against its visit's
first event's (visit_seq 1): its fields, and its timestamp.

Prints "ok - ..." or "not ok - ..." per comparison and "# compared N answers"; exit 1 when any
differs.
"""
import datetime
import json
import sys
import urllib.request

INTERACTIONS_NOT = {"page_view", "scroll", "mousemove"}
FIGURES = ["visitors", "visits", "pageviews", "events", "views_per_visit", "bounce_rate",
           "visit_duration"]
# The fields an event stores of its visit (its first event's): attribution, device, country.
VISIT_FIELDS = ["source", "medium", "channel", "utm_source", "utm_medium", "utm_campaign",
                "utm_term", "utm_content", "browser", "browser_version", "os", "os_version",
                "device", "country"]
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
FAILED = []
COMPARED = [0]


def ms_of(v):
    s = v["$date"] if isinstance(v, dict) else v
    if isinstance(s, dict):  # {"$numberLong": ...}
        return int(s["$numberLong"])
    d = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return (d - EPOCH) // datetime.timedelta(milliseconds=1)


def day_of(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%d")


def hour_of(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:00:00Z")


def check(name, got, want):
    COMPARED[0] += 1
    if got == want:
        print("ok - %s" % name)
    else:
        FAILED.append(name)
        print("not ok - %s: reporting %r, recomputed %r" % (name, got, want))


def load(path, site):
    evs = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            if d.get("site_id") != site:
                continue
            evs.append(dict(type=d["event_type"], path=d.get("path"), user=d.get("user_id"),
                            ts=ms_of(d["timestamp"]), received=ms_of(d["received_at"]),
                            visit=d.get("visit_id"), seq=d.get("visit_seq"),
                            source=d.get("visitor_source"),
                            visit_start=ms_of(d["visit_start"]) if "visit_start" in d else None,
                            attr={f: d.get(f) for f in VISIT_FIELDS}))
    return evs


def check_visits(evs, timeout_ms):
    """Every event has a visit; a visit's events are one visitor's, numbered 1..n; and the
    visits are exactly the runs of a visitor's arrivals with no gap over the timeout."""
    check("every stored event has a visit", sum(1 for e in evs if not e["visit"]), 0)
    by_visit = {}
    for e in evs:
        by_visit.setdefault(e["visit"], []).append(e)
    bad_seq = [v for v, es in by_visit.items()
               if sorted(e["seq"] for e in es) != list(range(1, len(es) + 1))]
    check("each visit's events are numbered 1..n", bad_seq, [])
    # A hashed visitor's id changes at 00:00 UTC while its visit goes on: the runs are cut by
    # user only where the arrivals stay within one UTC day.
    by_user = {}
    for e in evs:
        by_user.setdefault(e["user"], []).append(e)
    want = set()
    for es in by_user.values():
        es.sort(key=lambda e: (e["received"], e["seq"]))
        run, last = [], None
        for e in es:
            if last is not None and e["received"] - last > timeout_ms:
                want.add(frozenset(x["visit"] + "#%d" % x["seq"] for x in run))
                run = []
            run.append(e)
            last = e["received"] if last is None else max(last, e["received"])
        want.add(frozenset(x["visit"] + "#%d" % x["seq"] for x in run))
    got = set(frozenset(v + "#%d" % e["seq"] for e in es) for v, es in by_visit.items())
    check("the visits are the runs of arrivals with no gap over the timeout",
          len(got ^ want), 0)
    return by_visit


def check_visit_fields(by_visit):
    """Every event of a visit stores its visit's attribution, device and country (those of the
    event with visit_seq 1) and its start (that event's timestamp); and some visits of several
    events began with a campaign, so that something was compared."""
    firsts = {v: next((e for e in es if e["seq"] == 1), None) for v, es in by_visit.items()}
    differ = [(e["visit"], e["seq"]) for v, es in by_visit.items() for e in es
              if firsts[v] is None or e["attr"] != firsts[v]["attr"]]
    check("every event stores its visit's source, campaign, device and country", differ, [])
    starts = [(e["visit"], e["seq"]) for v, es in by_visit.items() for e in es
              if firsts[v] is None or e["visit_start"] != firsts[v]["ts"]]
    check("every event stores its visit's start, its first event's timestamp", starts, [])
    later = sum(1 for v, es in by_visit.items() if len(es) > 1 and firsts[v] is not None
                and firsts[v]["attr"]["utm_campaign"] and firsts[v]["attr"]["browser"])
    check("visits of several events that began with a campaign and a browser", later > 0, True)


def visit_figures(by_visit):
    """Per visit: its start, bounce, duration, entry and exit page."""
    out = []
    for es in by_visit.values():
        es = sorted(es, key=lambda e: e["seq"])
        pvs = [e for e in es if e["type"] == "page_view"]
        with_path = [e for e in pvs if e["path"]]
        out.append(dict(
            start=es[0]["ts"],
            bounce=int(len(pvs) == 1 and not any(e["type"] not in INTERACTIONS_NOT for e in es)),
            duration=max(e["ts"] for e in es) - min(e["ts"] for e in es),
            entry=with_path[0]["path"] if with_path else None,
            exit=with_path[-1]["path"] if with_path else None))
    return out


def summary(evs, visits, keep_event, keep_visit):
    """The figures over the events and visits kept, as docs/api.md computes them."""
    e = [x for x in evs if keep_event(x)]
    v = [x for x in visits if keep_visit(x)]
    # Visitors: distinct user_ids; a hashed visitor per day (its id is the day's) by itself.
    n = dict(visitors=len(set(x["user"] for x in e)), visits=len(v),
             pageviews=sum(1 for x in e if x["type"] == "page_view"), events=len(e))
    bounces, duration = sum(x["bounce"] for x in v), sum(x["duration"] for x in v)
    n["views_per_visit"] = n["pageviews"] / n["visits"] if v else 0.0
    n["bounce_rate"] = 100.0 * bounces / n["visits"] if v else 0.0
    n["visit_duration"] = duration / (1000.0 * n["visits"]) if v else 0.0
    return n


def get(base, path, params):
    url = base + path + "?" + "&".join("%s=%s" % kv for kv in params.items())
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def days(a, b):
    d = datetime.date.fromisoformat(a)
    while d <= datetime.date.fromisoformat(b):
        yield d.isoformat()
        d += datetime.timedelta(days=1)


def main():
    path, timeout_s, base, site, frm, to = sys.argv[1:7]
    evs = load(path, site)
    print("# %d stored events of %s" % (len(evs), site))
    by_visit = check_visits(evs, int(float(timeout_s) * 1000))
    check_visit_fields(by_visit)
    visits = visit_figures(by_visit)
    all_days = list(days(frm, to))
    ranges = [(d, d) for d in all_days] + [(frm, to)]
    for a, b in ranges:
        in_range = lambda ms, a=a, b=b: a <= day_of(ms) <= b
        want = summary(evs, visits, lambda x: in_range(x["ts"]), lambda x: in_range(x["start"]))
        span = (datetime.date.fromisoformat(b) - datetime.date.fromisoformat(a)).days + 1
        pa = (datetime.date.fromisoformat(a) - datetime.timedelta(days=span)).isoformat()
        pb = (datetime.date.fromisoformat(a) - datetime.timedelta(days=1)).isoformat()
        prev_in = lambda ms, pa=pa, pb=pb: pa <= day_of(ms) <= pb
        before = summary(evs, visits, lambda x: prev_in(x["ts"]), lambda x: prev_in(x["start"]))
        got = get(base, "/stats/summary", dict(site_id=site, **{"from": a, "to": b},
                                               compare="previous"))
        for f in FIGURES:
            check("summary %s..%s %s" % (a, b, f), got.get(f), want[f])
            check("summary %s..%s previous %s" % (a, b, f), got["previous"].get(f), before[f])
            c = (want[f] - before[f]) * 100.0 / before[f] if before[f] != 0 else None
            check("summary %s..%s change %s" % (a, b, f), got["change"].get(f), c)
        for kind in ("entry", "exit"):
            rows = {}
            for v in visits:
                if in_range(v["start"]) and v[kind]:
                    r = rows.setdefault(v[kind], [0, 0])
                    r[0] += 1
                    r[1] += v["bounce"]
            want_rows = sorted(([p, n, 100.0 * bo / n] for p, (n, bo) in rows.items()),
                               key=lambda r: (-r[1], r[0]))
            ans = get(base, "/stats/breakdown", dict(site_id=site, **{"from": a, "to": b},
                                                     by=kind + "_page", limit=100))
            check("breakdown %s_page %s..%s" % (kind, a, b),
                  [[r["value"], r["visits"], r["bounce_rate"]] for r in ans["values"]], want_rows)
    for interval, key in (("day", day_of), ("hour", hour_of)):
        buckets = sorted(set(key(x["ts"]) for x in evs) | set(key(v["start"]) for v in visits))
        for f in FIGURES:
            ans = get(base, "/stats/timeseries", dict(site_id=site, **{"from": frm, "to": to},
                                                      interval=interval, metric=f))
            pts = {p["t"][:10] if interval == "day" else p["t"]: p[f] for p in ans["points"]}
            want = {}
            for bkt in pts:
                w = summary(evs, visits, lambda x, bkt=bkt: key(x["ts"]) == bkt,
                            lambda x, bkt=bkt: key(x["start"]) == bkt)
                want[bkt] = w[f]
            check("timeseries by %s %s (%d buckets with data)" % (interval, f, len(buckets)), pts,
                  want)
    print("# compared %d answers" % COMPARED[0])
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
