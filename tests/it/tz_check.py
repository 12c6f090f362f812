#!/usr/bin/env python3
"""tz_check.py - a site's figures in its own time zone recomputed from the stored raw events
with Python's zoneinfo, compared with reporting's answers (tests/it/it_timezones.sh: issue 25,
point 6).

Usage: tz_check.py EVENTS.jsonl REPORTING_URL SITE ZONE DAY...

ZONE is the site's SITE_TIMEZONES zone, or "-" for a site without one (UTC days; its answers
carry no "timezone"). For each DAY, a date of the site's calendar: /stats and
/stats/aggregated (total_views, unique_users, top paths), /stats/summary (visitors, visits,
pageviews, events, bounce rate, visit duration: visits by the local day of their start),
/stats/timeseries by hour (each of the day's local hours: 23, 24 or 25 points, labelled in
local time with the offset then in force) and GET /events of that date. Over all the days:
/stats/summary and /stats/timeseries by day. Prints "ok - ..." / "not ok - ..." and
"# compared N answers"; exit 1 when any differs.
"""
import datetime
import sys
import urllib.parse
import urllib.request
import json
from zoneinfo import ZoneInfo

import visits_check as vc

UTC = datetime.timezone.utc


def local(ms, zone):
    return datetime.datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone)


def label(dt):
    """An instant as reporting labels a bucket: UTC with Z without a zone, else local time and
    offset."""
    if dt.tzinfo is UTC:
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    off = int(dt.utcoffset().total_seconds()) // 60
    sign = "-" if off < 0 else "+"
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + "%s%02d:%02d" % (sign, abs(off) // 60, abs(off) % 60)


def hours_of(day, zone):
    """The instants (ms) starting the local hours of `day`, in order: every whole hour of UTC
    (or :30, :45) whose local date is day."""
    start = datetime.datetime.combine(day, datetime.time(), UTC) - datetime.timedelta(hours=27)
    out = []
    # The offsets of the zones are whole quarter hours: walk quarter hours, keep those at a
    # local :00.
    t = start
    while t < start + datetime.timedelta(hours=54):
        lt = t.astimezone(zone)
        if lt.date() == day and lt.minute == 0 and lt.second == 0:
            out.append(int(t.timestamp() * 1000))
        t += datetime.timedelta(minutes=15)
    return out


def get(base, path, params):
    with urllib.request.urlopen(base + path + "?" + urllib.parse.urlencode(params),
                                timeout=30) as r:
        return json.loads(r.read())


def main():
    path, base, site, zone_name = sys.argv[1:5]
    days = [datetime.date.fromisoformat(d) for d in sys.argv[5:]]
    zone = UTC if zone_name == "-" else ZoneInfo(zone_name)
    evs = vc.load(path, site)
    by_visit = {}
    for e in evs:
        by_visit.setdefault(e["visit"], []).append(e)
    visits = vc.visit_figures(by_visit)
    print("# %d stored events, %d visits of %s (%s)" % (len(evs), len(visits), site, zone_name))
    vc.check("%s: events on each day asked for" % site,
             all(any(local(e["ts"], zone).date() == d for e in evs) for d in days), True)

    def day_of(ms):
        return local(ms, zone).date()

    tz_member = {} if zone_name == "-" else {"timezone": zone_name}
    for d in days:
        ds = d.isoformat()
        in_day = [e for e in evs if day_of(e["ts"]) == d]
        paths = {}
        for e in in_day:
            if e["path"]:
                paths[e["path"]] = paths.get(e["path"], 0) + 1
        users = {e["user"] for e in in_day if e["user"]}
        want = dict(site_id=site, date=ds, total_views=len(in_day), unique_users=len(users),
                    **tz_member)
        for route in ("/stats", "/stats/aggregated"):
            got = get(base, route, {"site_id": site, "date": ds})
            top = sorted(paths.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
            vc.check("%s %s date=%s: its local day's figures" % (site, route, ds),
                     {k: got.get(k) for k in list(want) + ["top_paths"]},
                     dict(want, top_paths=[{"path": p, "views": n} for p, n in top]))
        s = get(base, "/stats/summary", {"site_id": site, "date": ds})
        w = vc.summary(evs, visits, lambda e: day_of(e["ts"]) == d,
                       lambda v: day_of(v["start"]) == d)
        vc.check("%s /stats/summary date=%s" % (site, ds),
                 [round(s.get(k), 6) for k in vc.FIGURES] + [s.get("timezone")],
                 [round(w[k], 6) for k in vc.FIGURES] + [tz_member.get("timezone")])
        hours = hours_of(d, zone)
        ts = get(base, "/stats/timeseries", {"site_id": site, "date": ds, "interval": "hour"})
        want_points = []
        for i, h in enumerate(hours):
            end = hours[i + 1] if i + 1 < len(hours) else None
            hev = [e for e in in_day if e["ts"] >= h and (end is None or e["ts"] < end)]
            want_points.append({"t": label(local(h, zone)), "views": len(hev),
                                "unique_users": len({e["user"] for e in hev if e["user"]})})
        vc.check("%s /stats/timeseries date=%s by hour: %d local hours" % (site, ds, len(hours)),
                 [{k: p.get(k) for k in ("t", "views", "unique_users")}
                  for p in ts.get("points", [])], want_points)
        n, cursor = 0, None
        while True:
            q = {"site_id": site, "from": ds, "to": ds, "limit": 100}
            if cursor:
                q["cursor"] = cursor
            page = get(base, "/events", q)
            n += len(page.get("events", []))
            cursor = page.get("next_cursor")
            if not cursor:
                break
        vc.check("%s GET /events from=to=%s: its local day's events" % (site, ds), n, len(in_day))
    a, b = min(days).isoformat(), max(days).isoformat()
    span = [a]
    while span[-1] != b:
        span.append((datetime.date.fromisoformat(span[-1]) + datetime.timedelta(days=1)).isoformat())
    s = get(base, "/stats/summary", {"site_id": site, "from": a, "to": b})
    w = vc.summary(evs, visits, lambda e: a <= day_of(e["ts"]).isoformat() <= b,
                   lambda v: a <= day_of(v["start"]).isoformat() <= b)
    vc.check("%s /stats/summary from=%s to=%s" % (site, a, b),
             [round(s.get(k), 6) for k in vc.FIGURES], [round(w[k], 6) for k in vc.FIGURES])
    ts = get(base, "/stats/timeseries", {"site_id": site, "from": a, "to": b, "interval": "day",
                                         "metric": "visits"})
    want_points = []
    for ds in span:
        d = datetime.date.fromisoformat(ds)
        start = datetime.datetime.combine(d, datetime.time(), zone) if zone is not UTC else \
            datetime.datetime.combine(d, datetime.time(), UTC)
        # The first instant of the local date (a midnight the clocks skip starts at 01:00).
        first = min((h for h in hours_of(d, zone)), default=None)
        want_points.append({"t": label(local(first, zone)) if first is not None else
                            label(start),
                            "visits": sum(1 for v in visits if day_of(v["start"]) == d)})
    vc.check("%s /stats/timeseries from=%s to=%s by day, metric=visits" % (site, a, b),
             [{k: p.get(k) for k in ("t", "visits")} for p in ts.get("points", [])], want_points)
    print("# compared %d answers" % vc.COMPARED[0])
    sys.exit(1 if vc.FAILED else 0)


if __name__ == "__main__":
    main()
