#!/usr/bin/env python3
"""visits.py - the visits of tests/it/it_visit_rollup.sh: envelopes with visit members, and an
independent recomputation of the visit rollups from the stored events.

  visits.py gen SITE SEED QUEUE OUT_DIR
      Writes OUT_DIR/part1.resp and OUT_DIR/part2.resp (LPUSH commands onto list QUEUE in the
      Redis protocol, for redis-cli --pipe): envelopes of visits of several visitors over
      2025-11-15 and 2025-11-16 (some crossing midnight), each event with the visit member
      ingest's script would give it (docs/design.md, Visits: the per-event changes), and a
      few client duplicates (same id, another delivery, the same visit member). Some visits
      bounce on a page view without a path before their entry (a page view with one): there
      the entry page's bounce change eb differs from b. Prints the number of distinct events
      and the number of such visits.

  visits.py check EVENTS VISITS ENTRY EXIT
      EVENTS: the stored events (mongoq ... find, one JSON document a line); VISITS, ENTRY,
      EXIT: the documents of rollup_visits, rollup_entry_pages, rollup_exit_pages. Recomputes
      the visit figures from the events' own fields (event_type, path, timestamp, visit_id,
      visit_seq), never from the contributions: visits per start day and hour, bounces (one
      page view, no interaction), duration (max ts - min ts), entry page (the path of the
      lowest-seq page view with a path), exit page (of the highest-seq one). Prints each
      difference and exits 1 if there is one.
"""
import datetime
import json
import random
import sys

DAY1 = 1763164800000  # 2025-11-15T00:00:00Z
HOUR = 3600 * 1000
PATHS = ["/", "/a", "/b", "/pricing", "/docs"]
NOT_INTERACTION = ("page_view", "scroll", "mousemove")


def uuid7(rng, ms):
    r = rng.getrandbits(80)
    h = "%012x" % ms + "7" + "%03x" % (r & 0xFFF) + "%x" % (8 + ((r >> 12) & 3)) + "%015x" % (r >> 14 & (2**60 - 1))
    return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])


def bounce(st):
    return 1 if st["pv"] == 1 and not st["interacted"] else 0


def duration(st):
    return st["max_ts"] - st["min_ts"]


def contribution(st, ev, seq, visit_id, start):
    """The visit member of event ev (type, path, ts), given the visit's state st (updated)."""
    b_before, d_before = bounce(st), duration(st) if seq > 1 else 0
    typ, path = ev["event_type"], ev.get("path") or ""
    if typ == "page_view":
        st["pv"] = min(st["pv"] + 1, 2)
    if typ not in NOT_INTERACTION:
        st["interacted"] = 1
    st["min_ts"] = ev["ts"] if seq == 1 else min(st["min_ts"], ev["ts"])
    st["max_ts"] = ev["ts"] if seq == 1 else max(st["max_ts"], ev["ts"])
    b_after = bounce(st)
    b = b_after - b_before
    m = {"id": visit_id, "s": seq, "start": start, "n": 1 if seq == 1 else 0, "b": b,
         "d": duration(st) - d_before}
    with_path = typ == "page_view" and path != ""
    en = 0
    if with_path and st["entry"] is None:
        st["entry"] = path
        en = 1
    if en == 1 or (b != 0 and st["entry"] is not None):
        m["e"] = st["entry"]
    m["en"] = en
    if "e" in m:
        # The bounce change on the entry page: its bounce after when it is set here (a visit
        # may have bounced on a page view without a path before it), else b.
        m["eb"] = b_after if en == 1 else b
    old_exit, xn, xo = st["exit"], 0, None
    if with_path and path != old_exit:
        xn = 1
        st["exit"] = path
        if old_exit is not None:
            xo = old_exit
    # Without an exit yet a bounce change goes on no exit page (xb 0).
    xb = b_after if xn == 1 else (b if st["exit"] is not None else 0)
    if xn == 1 or xb != 0:
        m["x"] = st["exit"]
    m["xn"] = xn
    m["xb"] = xb
    if xo is not None:
        m["xo"] = xo
        m["xob"] = b_before
    return m


def visit_events(rng, start):
    """The events of one visit: (type, path, ts), in arrival order."""
    n = rng.choice([1, 1, 2, 3, 4, 5, 7])
    evs, ts = [], start
    for i in range(n):
        if i == 0:
            typ = rng.choice(["page_view"] * 6 + ["click", "scroll"])
        else:
            typ = rng.choice(["page_view"] * 4 + ["click", "scroll", "mousemove", "signup"])
        path = rng.choice(PATHS) if rng.random() < 0.9 else rng.choice(["", None])
        if i == 0 and typ == "page_view" and rng.random() < 0.2:
            path = rng.choice(["", None])  # more visits whose entry comes late (late_entry())
        # Not always in time order: duration is max - min, whatever the order.
        t = ts if i == 0 else ts + rng.choice([0, 1000, 5000, 60000, 400000, -2000])
        evs.append({"event_type": typ, "path": path, "ts": max(t, start - 3000)})
        ts = max(ts, t)
    return evs


def late_entry(evs):
    """Whether the visit bounced on a page view without a path before its first page view
    with one (its entry): the case the entry's own bounce change, eb, is for."""
    pv_before = 0
    interacted = False
    for ev in evs:
        if ev["event_type"] == "page_view" and ev["path"]:
            return pv_before == 1 and not interacted
        if ev["event_type"] == "page_view":
            pv_before += 1
        elif ev["event_type"] not in NOT_INTERACTION:
            interacted = True
    return False


def resp(args):
    out = ["*%d\r\n" % len(args)]
    for a in args:
        b = a.encode()
        out.append("$%d\r\n%s\r\n" % (len(b), a))
    return "".join(out)


def gen(site, seed, queue, out_dir):
    rng = random.Random(int(seed))
    envelopes = []
    counter = late = 0
    for u in range(40):
        user = "vu%d" % u
        t = DAY1 + rng.randrange(0, 47 * HOUR)
        if u % 8 == 0:
            t = DAY1 + 24 * HOUR - rng.randrange(60000, 900000)  # crosses midnight
        for _ in range(rng.choice([1, 2, 3])):
            evs = visit_events(rng, t)
            late += late_entry(evs)
            st = {"pv": 0, "interacted": 0, "entry": None, "exit": None, "min_ts": 0, "max_ts": 0}
            visit_id = None
            for seq, ev in enumerate(evs, 1):
                counter += 1
                ev_id = "%s:e%d" % (site, counter)
                if seq == 1:
                    visit_id = ev_id
                member = contribution(st, ev, seq, visit_id, evs[0]["ts"])
                env = {"v": 1, "id": ev_id, "dlv": uuid7(rng, ev["ts"]), "site_id": site,
                       "event_type": ev["event_type"], "ts": ev["ts"], "received": ev["ts"] + 7}
                if ev["path"] is not None:
                    env["path"] = ev["path"]
                env["user_id"] = user
                env["vsrc"] = "client"
                env["visit"] = member
                env["rid"] = "vr-%d" % counter
                envelopes.append(json.dumps(env, separators=(",", ":")))
                if rng.random() < 0.05:  # a client's duplicate: another delivery
                    env["dlv"] = uuid7(rng, ev["ts"] + 1)
                    envelopes.append(json.dumps(env, separators=(",", ":")))
            t = max(e["ts"] for e in evs) + 1800 * 1000 + rng.randrange(1000, 4 * HOUR)
    rng.shuffle(envelopes)
    half = len(envelopes) // 2
    for name, part in (("part1", envelopes[:half]), ("part2", envelopes[half:])):
        with open("%s/%s.resp" % (out_dir, name), "w") as f:
            for i in range(0, len(part), 25):
                f.write(resp(["LPUSH", queue] + part[i:i + 25]))
    print(counter, late)


def ms_of(v):
    if isinstance(v, dict) and "$date" in v:
        d = v["$date"]
        if isinstance(d, dict):
            return int(d["$numberLong"])
        dt = datetime.datetime.strptime(d.replace("Z", "+0000"),
                                        "%Y-%m-%dT%H:%M:%S.%f%z" if "." in d else "%Y-%m-%dT%H:%M:%S%z")
        return int(dt.timestamp() * 1000)
    return int(v)


def num(v):
    if isinstance(v, dict):
        return int(v.get("$numberLong", v.get("$numberInt")))
    return int(v)


def day_of(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%d")


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check(events_path, visits_path, entry_path, exit_path):
    visits = {}
    for e in read_jsonl(events_path):
        if "visit_id" not in e:
            continue
        visits.setdefault(e["visit_id"], []).append(e)
    want_day, want_hour, want_entry, want_exit = {}, {}, {}, {}
    bad = 0
    for vid, evs in visits.items():
        evs.sort(key=lambda e: num(e["visit_seq"]))
        seqs = [num(e["visit_seq"]) for e in evs]
        if seqs != list(range(1, len(evs) + 1)) or evs[0]["_id"] != vid:
            print("visit %s: seqs %s, first %s" % (vid, seqs, evs[0]["_id"]))
            bad += 1
            continue
        start = ms_of(evs[0]["timestamp"])
        ts = [ms_of(e["timestamp"]) for e in evs]
        pvs = [e for e in evs if e["event_type"] == "page_view"]
        with_path = [e for e in pvs if e.get("path")]
        interacted = any(e["event_type"] not in NOT_INTERACTION for e in evs)
        is_bounce = 1 if len(pvs) == 1 and not interacted else 0
        fig = (1, is_bounce, max(ts) - min(ts))
        day, hour = day_of(start), start - start % HOUR
        for m, k in ((want_day, day), (want_hour, hour)):
            m[k] = tuple(a + b for a, b in zip(m.get(k, (0, 0, 0)), fig))
        if with_path:
            for m, p in ((want_entry, with_path[0]["path"]), (want_exit, with_path[-1]["path"])):
                m[(day, p)] = tuple(a + b for a, b in zip(m.get((day, p), (0, 0)), fig[:2]))
    got_day, got_hour, got_entry, got_exit = {}, {}, {}, {}
    for d in read_jsonl(visits_path):
        for f in ("site_id", "date", "runs"):
            if f not in d:
                print("rollup_visits %s has no %s" % (d["_id"], f))
                bad += 1
        fig = (num(d["visits"]), num(d["bounces"]), num(d["duration_ms"]))
        if "hour" in d:
            got_hour[ms_of(d["hour"])] = fig
        else:
            got_day[d["date"]] = fig
    for path, got in ((entry_path, got_entry), (exit_path, got_exit)):
        for d in read_jsonl(path):
            for f in ("site_id", "date", "scope", "path", "runs"):
                if f not in d:
                    print("%s: %s has no %s" % (path, d["_id"], f))
                    bad += 1
            if d["_id"] != d["scope"] + "|" + d["path"]:
                print("%s: _id %s is not scope|path" % (path, d["_id"]))
                bad += 1
            got[(d["date"], d["path"])] = (num(d["visits"]), num(d["bounces"]))

    def nonzero(m):
        return {k: v for k, v in m.items() if any(v)}

    for name, want, got in (("site-day", want_day, got_day), ("site-hour", want_hour, got_hour),
                            ("entry page", want_entry, got_entry),
                            ("exit page", want_exit, got_exit)):
        w, g = nonzero(want), nonzero(got)
        for k in sorted(set(w) | set(g), key=str):
            if w.get(k) != g.get(k):
                print("%s %s: rollup %s, recomputed %s" % (name, k, g.get(k), w.get(k)))
                bad += 1
        print("%s: %d documents, %d visits" % (name, len(g), sum(v[0] for v in w.values())))
    print("visits: %d, bounces: %d, duration_ms: %d" % (
        len(visits), sum(v[1] for v in want_day.values()), sum(v[2] for v in want_day.values())))
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(*sys.argv[2:6])
    else:
        sys.exit(check(*sys.argv[2:6]))
