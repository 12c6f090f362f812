#!/usr/bin/env python3
"""visitgen.py - drive ingest with visits of known shape, in real time (tests/it/it_figures.sh).

Usage: visitgen.py TIMEOUT_S SITE INGEST_URL [INGEST_URL...] > sent.txt

Each visitor follows a script of steps (event type, path, client timestamp, real-time wait
before it) chosen to hit every rule of a visit (docs/api.md#get-statssummary): bounces, two
pages, the same page twice, clicks only, page view then scroll and mousemove (still a bounce),
page view then a click (not a bounce), a page view without a path (alone, before one with a
path, before a click), gaps of 0.75 and 1.3
timeouts between arrivals, client timestamps that cross UTC midnight within one visit, one
event_id sent twice (once to each ingest), a POST /events batch, and visitors without a
user_id (ingest's daily hash, told apart by X-Forwarded-For and User-Agent). Each visitor's
first request has a referrer and, for every other visitor, a campaign (utm_*), its later ones
another referrer, and some a property `plan` (on later requests, for some, the other value);
its first request has one of four real
User-Agents (phone, iPhone, iPad, desktop) and an address the country database places (or
none), and a visitor with a user_id sends its later ones with another User-Agent: the stored
events of a visit carry its first event's source, campaign, device and country
(visits_check.py). Visitors run in
parallel threads and their requests alternate between the ingests. Prints one line per
request: "<status> <visitor>". The figures are then recomputed from the stored events
(visits_check.py), never from this list.
"""
import json
import sys
import threading
import time
import urllib.request

DAY1 = "2025-11-15"
DAY0 = "2025-11-14"  # the previous period of a one-day range of DAY1
DAY2 = "2025-11-16"


def ts(day, hh, mm, ss, ms=0):
    return "%sT%02d:%02d:%02d.%03dZ" % (day, hh, mm, ss, ms)


def shapes(timeout):
    """(name, steps): a step is (wait_s, event_type, path or None, timestamp, event_id or None,
    batch) where batch, when a list, sends those events in one POST /events."""
    under, over = 0.75 * timeout, 1.3 * timeout
    out = []
    for i, (day, hh) in enumerate([(DAY1, 9), (DAY1, 14), (DAY0, 10), (DAY2, 8)]):
        p = "%s-%d" % (day, i)
        out += [
            ("bounce", [(0, "page_view", "/", ts(day, hh, 0, 1), None)]),
            ("two-pages", [(0, "page_view", "/", ts(day, hh, 1, 0)),
                           (0.2, "page_view", "/pricing", ts(day, hh, 1, 30))]),
            ("same-page", [(0, "page_view", "/docs", ts(day, hh, 2, 0)),
                           (0.2, "page_view", "/docs", ts(day, hh, 2, 9, 500))]),
            ("clicks-only", [(0, "click", "/", ts(day, hh, 3, 0)),
                             (0.1, "click", "/", ts(day, hh, 3, 4))]),
            ("passive", [(0, "page_view", "/blog", ts(day, hh, 4, 0)),
                         (0.1, "scroll", "/blog", ts(day, hh, 4, 20)),
                         (0.1, "mousemove", "/blog", ts(day, hh, 4, 21))]),
            ("interacted", [(0, "page_view", "/blog", ts(day, hh, 5, 0)),
                            (0.1, "signup", "/blog", ts(day, hh, 5, 33))]),
            ("no-path", [(0, "page_view", None, ts(day, hh, 6, 0))]),
            ("gap-under", [(0, "page_view", "/a", ts(day, hh, 7, 0)),
                           (under, "page_view", "/b", ts(day, hh, 7, 50))]),
            ("gap-over", [(0, "page_view", "/a", ts(day, hh, 8, 0)),
                          (over, "page_view", "/b", ts(day, hh + 1, 8, 10))]),
            ("interaction-first", [(0, "click", "/", ts(day, hh, 9, 0)),
                                   (0.1, "page_view", "/c", ts(day, hh, 9, 2))]),
            # A first page view without a path: its bounce ends at the entry page's event.
            ("no-path-first", [(0, "page_view", None, ts(day, hh, 10, 0)),
                               (0.1, "page_view", "/d", ts(day, hh, 10, 7))]),
            ("no-path-click", [(0, "page_view", None, ts(day, hh, 11, 0)),
                               (0.1, "click", None, ts(day, hh, 11, 1))]),
        ]
    # Client timestamps across UTC midnight in one visit: it counts on the day it started.
    out.append(("midnight", [(0, "page_view", "/late", ts(DAY1, 23, 59, 50)),
                             (0.2, "page_view", "/early", ts(DAY2, 0, 0, 20))]))
    out.append(("midnight", [(0, "click", "/late", ts(DAY1, 23, 59, 59)),
                             (0.2, "page_view", "/early", ts(DAY2, 0, 1, 0))]))
    # One event_id twice (to each ingest, one after the other): stored and counted once.
    out.append(("duplicate", [(0, "page_view", "/dup", ts(DAY1, 12, 0, 0), "dup-1"),
                              (0.1, "page_view", "/dup", ts(DAY1, 12, 0, 0), "dup-1"),
                              (0.1, "page_view", "/dup2", ts(DAY1, 12, 0, 5), "dup-2")]))
    # A batch: three events in one request, in array order.
    out.append(("batch", [(0, "batch", [("page_view", "/in", ts(DAY1, 16, 0, 0)),
                                        ("page_view", "/mid", ts(DAY1, 16, 0, 3)),
                                        ("page_view", "/out", ts(DAY1, 16, 0, 9))])]))
    return out


class Sender:
    def __init__(self, urls):
        self.urls = urls
        self.n = 0
        self.lock = threading.Lock()
        self.lines = []

    def post(self, path, body, headers, who):
        with self.lock:
            url = self.urls[self.n % len(self.urls)]
            self.n += 1
        req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                     headers=dict({"Content-Type": "application/json"}, **headers))
        for _ in range(20):
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            except OSError:
                status = 0
            if status not in (0, 503):
                break
            time.sleep(0.1)  # a retry of the same request (same event_id where it has one)
        with self.lock:
            self.lines.append("%d %s" % (status, who))


# Real User-Agents of a phone, an iPhone, an iPad and a desktop (uap-core names their
# browsers and systems), and addresses the country database places, and none (loopback:
# no country): visitor k's first request has the k-th of each.
AGENTS = [
    "Mozilla/5.0 (Android 14; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
]
ADDRESSES = ["8.8.8.8", "81.2.69.142", "2.16.0.1", "133.11.0.1", None]


def attribution(k, first):
    """The properties of visitor k's request: its first with a referrer and (every other
    visitor) a campaign, its later ones with another referrer."""
    if not first:
        props = {"referrer": "https://later.example.net/page"}
        if k % 3 == 1:  # a property of the event, not the visit: another value later
            props["plan"] = ["free", "pro"][(k + 1) % 2]
        return props
    props = {"referrer": "https://ref%d.example.org/from" % (k % 3)}
    if k % 2:
        props.update(utm_source="src%d" % k, utm_medium="cpc", utm_campaign="camp%d" % (k % 4))
    if k % 3:
        props["plan"] = ["free", "pro"][k % 2]
    return props


def run_visitor(sender, site, k, name, steps, hashed):
    who = "v%d-%s" % (k, name)
    agent = AGENTS[k % len(AGENTS)]
    # A hashed visitor is its address and User-Agent, told apart by its number in the latter.
    headers = {"User-Agent": "%s visitgen/%d" % (agent, k) if hashed else agent}
    if ADDRESSES[k % len(ADDRESSES)]:
        headers["X-Forwarded-For"] = ADDRESSES[k % len(ADDRESSES)]
    for i, step in enumerate(steps):
        time.sleep(step[0])
        # Only a visitor with a user_id changes its User-Agent: its visit keeps the first one's.
        if not hashed:
            headers["User-Agent"] = agent if i == 0 else "visitgen/%d" % k
        if step[1] == "batch":
            evs = [dict(site_id=site, event_type=t, path=p, timestamp=s,
                        properties=attribution(k, i == 0 and j == 0))
                   for j, (t, p, s) in enumerate(step[2])]
            for e in evs:
                if not hashed:
                    e["user_id"] = who
            sender.post("/events", evs, headers, who)
            continue
        ev = dict(site_id=site, event_type=step[1], timestamp=step[3],
                  properties=attribution(k, i == 0))
        if step[2] is not None:
            ev["path"] = step[2]
        if len(step) > 4 and step[4]:
            ev["event_id"] = "%s-%s" % (who, step[4])
        if not hashed:
            ev["user_id"] = who
        sender.post("/event", ev, headers, who)


def main():
    timeout, site, urls = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
    sender = Sender(urls)
    threads = []
    k = 0
    for name, steps in shapes(timeout):
        # Each shape by a visitor with a user_id and by a hashed one.
        for hashed in (False, True):
            k += 1
            t = threading.Thread(target=run_visitor, args=(sender, site, k, name, steps, hashed))
            threads.append(t)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("\n".join(sender.lines))


if __name__ == "__main__":
    main()
