#!/usr/bin/env python3
"""breakdowns_check.py - every breakdown and a table of filters recomputed from the stored raw
events, compared with reporting's answers (tests/it/it_figures.sh): the yardstick of issue 24.

Usage: breakdowns_check.py EVENTS.jsonl REPORTING_URL SITE FROM TO

The definitions are docs/api.md's (Filters, GET /stats/breakdown), written here again from the
stored events' own fields (visits_check.py reads them): a visit-level filter (a visit's
source ... country, entry_page, exit_page) selects whole visits, an event-level one (path,
event_type, referrer, prop.<key>) events; a visit counts when it passes the first and has an
event passing the second. Per row: visitors are the distinct users of the kept events in the
range, pageviews and events its kept page views and events; visits, bounces and durations
those of the kept visits that started in the range. Checked: GET /stats/breakdown by every
dimension over each day and the range (limit=1000, so that the five dimensions the rollups
keep are counted from the raw events too), and for each filter case of CASES its
/stats/summary over each day and the range, a breakdown, /stats/goals (all goals, and signup
by its property plan), /stats/funnel, and /stats/timeseries by day and by hour; and
GET /events with each filter case that holds no entry or exit page, page by page. Prints "ok - ..." / "not ok - ..." and "# compared N answers"; exit 1 when any differs.
"""
import json
import re
import sys
import urllib.parse

import visits_check as vc

VISIT_STORED = ["source", "channel", "utm_source", "utm_medium", "utm_campaign", "utm_term",
                "utm_content", "device", "browser", "os", "country"]
DIMS = VISIT_STORED + ["entry_page", "exit_page", "path", "event_type", "referrer", "prop.plan"]
EVENT_LEVEL = {"path", "event_type", "referrer"}
UNLISTED_NONE = {"path", "referrer", "entry_page", "exit_page"}
# Filter cases: (dimension, operator, value) ANDed; values the generator sends
# (tests/tools/visitgen.py), and some that match nothing.
CASES = [
    [("source", "is", "ref1.example.org")],
    [("channel", "is_not", "Referral")],
    [("utm_campaign", "contains", "camp")],
    [("utm_source", "is", "(none)")],
    [("device", "is", "mobile")],
    [("browser", "is", "Chrome"), ("os", "is_not", "(none)")],
    [("country", "is", "US")],
    [("country", "is", "(none)")],
    [("entry_page", "is", "/")],
    [("exit_page", "is_not", "/b")],
    [("path", "is", "/blog")],
    [("event_type", "is", "signup")],
    [("path", "contains", "/"), ("event_type", "is", "page_view")],
    [("prop.plan", "is", "pro"), ("device", "is_not", "desktop")],
    [("referrer", "is", "later.example.net")],
    [("entry_page", "is", "/a"), ("path", "is", "/b")],
    [("os", "is", "no such system")],
]


def host_of(url):
    """A referrer's host as the rollups name it: an absolute http(s) URL's, lower-cased."""
    if not isinstance(url, str):
        return None
    m = re.match(r"(?i)^https?://(?:[^/?#@]*@)?([^/?#:]+)", url)
    if not m or not re.match(r"^[A-Za-z0-9._-]+$", m.group(1)):
        return None
    return m.group(1).lower()


def load(path, site):
    evs = []
    with open(path) as f:
        for line in f:
            d = json.loads(line) if line.strip() else None
            if not d or d.get("site_id") != site:
                continue
            props = d.get("properties") or {}
            e = dict(id=d["_id"], type=d["event_type"], path=d.get("path"), user=d.get("user_id"),
                     ts=vc.ms_of(d["timestamp"]), visit=d.get("visit_id"), seq=d.get("visit_seq"),
                     start=vc.ms_of(d["visit_start"]))
            e["val"] = {k: d.get(k) for k in VISIT_STORED}
            e["val"].update(path=e["path"], event_type=e["type"])
            e["val"]["referrer"] = host_of(props.get("referrer")) if e["type"] == "page_view" else None
            plan = props.get("plan")
            e["val"]["prop.plan"] = plan if isinstance(plan, str) else None
            evs.append(e)
    return evs


def visits_of(evs):
    by = {}
    for e in evs:
        by.setdefault(e["visit"], []).append(e)
    out = []
    for es in by.values():
        es.sort(key=lambda e: e["seq"])
        pages = [e["path"] for e in es if e["type"] == "page_view" and e["path"]]
        pvs = sum(1 for e in es if e["type"] == "page_view")
        out.append(dict(events=es, start=es[0]["start"], entry=pages[0] if pages else None,
                        exit=pages[-1] if pages else None,
                        bounce=int(pvs == 1 and not any(e["type"] not in vc.INTERACTIONS_NOT
                                                        for e in es)),
                        duration=max(e["ts"] for e in es) - min(e["ts"] for e in es)))
    return out


def passes(f, v):
    _, op, want = f
    absent = v is None or v == ""
    if op == "is":
        return absent if want == "(none)" else (not absent and v == want)
    if op == "is_not":
        return (not absent) if want == "(none)" else (absent or v != want)
    return not absent and want in v


def value(visit, e, dim):
    if dim == "entry_page":
        return visit["entry"]
    if dim == "exit_page":
        return visit["exit"]
    return e["val"][dim]


def rows(visits, filters, in_range, key):
    """{row key: [users, events, pageviews, visits, bounces, duration]}; key(visit, event)
    gives an event's row (None: none) and key(visit, None) a visit's (None: by its events)."""
    out = {}
    row = lambda k: out.setdefault(k, [set(), 0, 0, 0, 0, 0])
    for v in visits:
        first = v["events"][0]
        if not all(passes(f, value(v, first, f[0])) for f in filters
                   if f[0] not in EVENT_LEVEL and not f[0].startswith("prop.")):
            continue
        kept = [e for e in v["events"]
                if all(passes(f, value(v, e, f[0])) for f in filters
                       if f[0] in EVENT_LEVEL or f[0].startswith("prop."))]
        for e in kept:
            k = key(v, e)
            if k is not None and in_range(e["ts"]):
                r = row(k)
                if e["user"]:
                    r[0].add(e["user"])
                r[1] += 1
                r[2] += e["type"] == "page_view"
        if not kept or not in_range(v["start"]):
            continue
        vk = key(v, None)
        for k in ([vk] if vk is not None else sorted(set(key(v, e) for e in kept) - {None})):
            r = row(k)
            r[3] += 1
            r[4] += v["bounce"]
            r[5] += v["duration"]
    return out


def figures(r):
    users, events, pvs, visits, bounces, duration = r if r else (set(), 0, 0, 0, 0, 0)
    return dict(visitors=len(users), visits=visits, pageviews=pvs, events=events,
                views_per_visit=pvs / visits if visits else 0.0,
                bounce_rate=100.0 * bounces / visits if visits else 0.0,
                visit_duration=duration / (1000.0 * visits) if visits else 0.0)


def breakdown(visits, filters, in_range, dim):
    def name(x):
        return x if x else (None if dim in UNLISTED_NONE else "(none)")
    if dim in EVENT_LEVEL or dim.startswith("prop."):
        key = lambda v, e: name(value(v, e, dim)) if e is not None else None
    else:
        key = lambda v, e: name(value(v, v["events"][0], dim))
    out = []
    for k, r in rows(visits, filters, in_range, key).items():
        f = figures(r)
        row = dict(value=k, visitors=f["visitors"], visits=f["visits"], pageviews=f["pageviews"],
                   bounce_rate=f["bounce_rate"])
        if dim in EVENT_LEVEL:
            row["views"] = f["events"]
        if dim == "event_type":
            row["unique_users"] = f["visitors"]
        rank = (f["events"] if dim in EVENT_LEVEL else
                f["visits"] if dim in ("entry_page", "exit_page") else f["visitors"])
        out.append((-rank, k.encode(), row))
    return [r for _, _, r in sorted(out, key=lambda t: (t[0], t[1]))]


BUILTIN = {"page_view", "click", "scroll", "mousemove", "form"}


def goals(visits, filters, in_range, goal=None, key=None):
    """/stats/goals's list with filters: the custom types' (or one goal's values of a property)
    converted visitors and events, by visitors, events and name; the rate against the
    filtered summary's visitors."""
    site = figures(rows(visits, filters, in_range, lambda v, e: 0).get(0))["visitors"]
    if goal:
        filters = filters + [("event_type", "is", goal)]
    dim = "prop." + key if key else "event_type"
    def name(v, e):
        if e is None:
            return None
        x = value(v, e, dim)
        return None if not key and x in BUILTIN else (x if x else "(none)")
    out = []
    for k, r in rows(visits, filters, in_range, name).items():
        f = figures(r)
        if f["events"] == 0:
            continue
        out.append((-f["visitors"], -f["events"], k.encode(),
                    {"value" if key else "goal": k, "visitors": f["visitors"], "events": f["events"],
                     "conversion_rate": 100.0 * f["visitors"] / site if site else 0}))
    return site, [r[3] for r in sorted(out, key=lambda t: t[:3])][:10]


FUNNELS = ["path:/,path:/pricing", "path:/blog,event:signup", "path:/a,path:/b,path:/c"]


def funnel(visits, filters, in_range, steps):
    """/stats/funnel's visitors per step with filters: the kept visits that started in the
    range, each walked whole (greedy subsequence of the steps), credited to the user_id of
    the event matching step 1; a visitor's furthest step over its visits."""
    steps = [s.split(":", 1) for s in steps.split(",")]
    best = {}
    for v in visits:
        first = v["events"][0]
        if not in_range(v["start"]) or not all(
                passes(f, value(v, first, f[0])) for f in filters
                if f[0] not in EVENT_LEVEL and not f[0].startswith("prop.")):
            continue
        if not any(all(passes(f, value(v, e, f[0])) for f in filters
                       if f[0] in EVENT_LEVEL or f[0].startswith("prop.")) for e in v["events"]):
            continue
        k, user = 0, None
        for e in v["events"]:
            kind, want = steps[k]
            if (kind == "path" and e["type"] == "page_view" and e["path"] == want) or \
                    (kind == "event" and e["type"] == want):
                user = e["user"] if k == 0 else user
                k += 1
                if k == len(steps):
                    break
        if k and user:
            best[user] = max(best.get(user, 0), k)
    return [sum(1 for b in best.values() if b > i) for i in range(len(steps))]


def get(base, path, params):
    url = base + path + "?" + urllib.parse.urlencode(params, doseq=True)
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def fparams(filters):
    return [("filter", "%s:%s:%s" % f) for f in filters]


def main():
    path, base, site, frm, to = sys.argv[1:6]
    visits = visits_of(load(path, site))
    ranges = [(d, d) for d in vc.days(frm, to)] + [(frm, to)]
    some = [0, 0, 0]  # filtered answers with visitors, with fewer than the site's; funnels
    # whose second step has visitors
    for a, b in ranges:
        in_range = lambda ms, a=a, b=b: a <= vc.day_of(ms) <= b
        span = [("site_id", site), ("from", a), ("to", b)]
        for dim in DIMS:
            got = get(base, "/stats/breakdown", span + [("by", dim), ("limit", 1000)])
            vc.check("breakdown by %s %s..%s" % (dim, a, b), got["values"],
                     breakdown(visits, [], in_range, dim))
        every = figures(rows(visits, [], in_range, lambda v, e: 0).get(0))
        for i, case in enumerate(CASES):
            want = figures(rows(visits, case, in_range, lambda v, e: 0).get(0))
            got = get(base, "/stats/summary", span + fparams(case))
            vc.check("summary %s..%s with %s" % (a, b, case),
                     {f: got.get(f) for f in vc.FIGURES}, want)
            some[0] += want["visitors"] > 0
            some[1] += 0 < want["visitors"] < every["visitors"]
            dim = DIMS[i % len(DIMS)]
            got = get(base, "/stats/breakdown", span + [("by", dim)] + fparams(case))
            vc.check("breakdown by %s %s..%s with %s" % (dim, a, b, case), got["values"],
                     breakdown(visits, case, in_range, dim)[:10])
        for case in CASES[::2]:
            want = goals(visits, case, in_range)
            got = get(base, "/stats/goals", span + fparams(case))
            vc.check("goals %s..%s with %s" % (a, b, case), (got["visitors"], got["goals"]), want)
            want = goals(visits, case, in_range, "signup", "plan")
            got = get(base, "/stats/goals", span + [("goal", "signup"), ("by", "prop.plan")]
                      + fparams(case))
            vc.check("goal signup by plan %s..%s with %s" % (a, b, case),
                     (got["visitors"], got["values"]), want)
        for i, case in enumerate(CASES[::2]):
            steps = FUNNELS[i % len(FUNNELS)]
            got = get(base, "/stats/funnel", span + [("steps", steps)] + fparams(case))
            want = funnel(visits, case, in_range, steps)
            vc.check("funnel %s %s..%s with %s" % (steps, a, b, case),
                     [x["visitors"] for x in got["steps"]], want)
            some[2] += want[1] > 0
    for interval, key in (("day", vc.day_of), ("hour", vc.hour_of)):
        for case in CASES[::3]:
            for metric in ("visitors", "visits", "pageviews", "bounce_rate", "visit_duration"):
                got = get(base, "/stats/timeseries", [("site_id", site), ("from", frm), ("to", to),
                                                      ("interval", interval), ("metric", metric)]
                          + fparams(case))
                pts = {p["t"][:10] if interval == "day" else p["t"]: p[metric]
                       for p in got["points"]}
                want = {t: figures(rows(visits, case, lambda ms, t=t: key(ms) == t,
                                        lambda v, e: 0).get(0))[metric] for t in pts}
                vc.check("timeseries by %s %s with %s" % (interval, metric, case), pts, want)
    # GET /events with filters: every page (of 7) followed, against the stored events that
    # pass them by their own values (a visit's, which each stores, and the event's).
    evs = [e for v in visits for e in v["events"]]
    for case in [c for c in CASES if not any(f[0] in ("entry_page", "exit_page") for f in c)]:
        got, cursor = [], None
        while True:
            page = get(base, "/events", [("site_id", site), ("limit", 7)] + fparams(case)
                       + ([("cursor", cursor)] if cursor else []))
            got += [x["id"] for x in page["events"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        want = sorted((e for e in evs if all(passes(f, e["val"][f[0]]) for f in case)),
                      key=lambda e: (e["ts"], e["id"].encode()), reverse=True)
        vc.check("/events with %s" % case, got, [e["id"] for e in want])
    vc.check("some filtered answers count visitors, some fewer than all", some[1] > 4, True)
    vc.check("some filtered funnels reach their second step", some[2] > 2, True)
    print("# compared %d answers" % vc.COMPARED[0])
    sys.exit(1 if vc.FAILED else 0)


if __name__ == "__main__":
    main()
