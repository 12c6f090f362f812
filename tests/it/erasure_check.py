#!/usr/bin/env python3
"""erasure_check.py - tests/it/it_erasure.sh's side: the events it sends, the hash a
site-hour's set keeps of a user id, and the figures recomputed from stored raw events.

  gen                       the events (JSON arrays of at most 500, one a line)
  hash USER                 rollup_user_hash(USER): FNV-1a 64 as a signed int64
  hours SITE USER DAY       from events (jsonl, stdin): per hour of DAY with events, the
                            views (all events) and the distinct users without USER:
                            [{"t", "views", "unique_users"}] as /stats/timeseries gives them
  totals SITE DAY           from events (stdin): {"total_views", "unique_users"}
"""
import json
import sys

SITE, OTHER, DAY = "ersite", "other", "2025-11-15"


def gen():
    evs = []
    def add(site, user, n, tag):
        for i in range(n):
            h = (i * 7) % 6 + 8
            evs.append({"event_id": f"{tag}-{i}", "site_id": site, "event_type": "page_view",
                        "path": f"/p{i % 4}", "user_id": user,
                        "timestamp": f"{DAY}T{h:02d}:{i % 60:02d}:00Z"})
    for u in ("u1", "u2", "u3", "u4"):
        add(SITE, u, 25, u)
    add(SITE, "victim/7", 20, "vic")
    add(SITE, "killme-visitor", 300, "km")
    add(OTHER, "victim/7", 6, "ovic")
    add(OTHER, "u1", 6, "ou1")
    for k in range(0, len(evs), 500):
        print(json.dumps(evs[k:k + 500]))


def fnv(user):
    h = 14695981039346656037
    for b in user.encode():
        h = ((h ^ b) * 1099511628211) % (1 << 64)
    return h - (1 << 64) if h >= 1 << 63 else h


def load(site, day):
    out = []
    for line in sys.stdin:
        d = json.loads(line)
        ts = d["timestamp"]["$date"] if isinstance(d["timestamp"], dict) else d["timestamp"]
        if isinstance(ts, dict):
            ts = ts.get("$numberLong")
        if d.get("site_id") == site and str(ts).startswith(day):
            out.append((str(ts)[11:13], d.get("user_id")))
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "gen":
        gen()
    elif cmd == "hash":
        print(fnv(sys.argv[2]))
    elif cmd == "hours":
        site, user, day = sys.argv[2:5]
        hours = {}
        for h, u in load(site, day):
            v, us = hours.setdefault(h, [0, set()])
            hours[h][0] += 1
            if u != user:
                us.add(u)
        print(json.dumps([{"t": f"{day}T{h}:00:00Z", "views": v, "unique_users": len(us)}
                          for h, (v, us) in sorted(hours.items())]))
    elif cmd == "totals":
        rows = load(sys.argv[2], sys.argv[3])
        print(json.dumps({"total_views": len(rows), "unique_users": len({u for _, u in rows})}))


main()
