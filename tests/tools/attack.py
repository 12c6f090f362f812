#!/usr/bin/env python3
"""attack.py - hostile HTTP clients for the integration tests (standard library only).

  attack.py raw PORT < REQUEST
      Send the bytes of REQUEST on one connection, then read until the server closes
      it or is silent for 3 s. Prints one line per response, "STATUS MESSAGE" (MESSAGE:
      the JSON reply's "message", or its "status"), an interim 100 as "100 continue",
      then "closed" or "open". A "<pause:S>" in REQUEST is not sent: the connection
      stays idle there for S seconds (reading what the server answers meanwhile). With
      ATTACK_TIMED=1 in the environment, a last line "took S": the seconds from the first
      byte sent to the server's close (or to the end of the wait), measured here, so that
      the interpreter's start-up is not counted.

  attack.py flood PATTERN N SECONDS PORT PROBE_URL NORMAL_URL [NORMAL_BODY]
      Keep N connections of PATTERN open against 127.0.0.1:PORT for SECONDS, opening a
      new one whenever the server closes one, while a prober asks PROBE_URL (GET) and
      NORMAL_URL (GET, or POST of NORMAL_BODY) in turn, every 0.2 s, each with a 1 s
      timeout. PATTERN:
        slow-body    POST headers with Content-Length: 60000, then one byte every 3 s
        idle         one GET request on a keep-alive connection, then nothing
        slow-headers the request line, then one header line every second
      Prints "probes=N probe_fail=F probe_max_ms=M normal=N normal_fail=F normal_max_ms=M
      opened=O closed=C open_at_end=E longest_s=L": connections opened, closed by the
      server, and still open when the time was up, and the longest any attacker connection
      stayed open (one still open counts with its age then).
"""
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.request


def parse_responses(data):
    """Split the bytes a server sent into (status, message) pairs."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body, data = rest[:length], rest[length:]
        if status == 100:
            out.append((100, "continue"))
            continue
        try:
            obj = json.loads(body)
            msg = obj.get("message") or obj.get("status")
        except ValueError:
            msg = "(not JSON) " + body.decode("latin1")
        out.append((status, msg))
    return out


def raw(port):
    parts = re.split(rb"<pause:([0-9.]+)>", sys.stdin.buffer.read())
    s = socket.create_connection(("127.0.0.1", port))
    data, state = b"", "open"
    start = time.monotonic()
    s.sendall(parts[0])
    for i in range(1, len(parts), 2):
        until = time.time() + float(parts[i])
        while time.time() < until:  # idle: the time under test, read what comes meanwhile
            s.settimeout(max(0.01, until - time.time()))
            try:
                data += s.recv(65536)
            except socket.timeout:
                pass
        s.sendall(parts[i + 1])
    s.settimeout(3)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                state = "closed"
                break
            data += b
    except socket.timeout:
        pass
    except ConnectionResetError:
        state = "closed"
    took = time.monotonic() - start
    for status, msg in parse_responses(data):
        print(status, msg)
    print(state)
    if os.environ.get("ATTACK_TIMED") == "1":
        print("took %.2f" % took)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.opened = self.closed = self.open_at_end = 0
        self.longest = 0.0


def attacker(pattern, port, until, stats):
    while time.time() < until:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            time.sleep(0.1)
            continue
        start = time.time()
        with stats.lock:
            stats.opened += 1
        s.settimeout(0.5)
        try:
            if pattern == "slow-body":
                s.sendall(b"POST /event HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 60000\r\n\r\n")
            elif pattern == "idle":
                s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            else:
                s.sendall(b"GET /livez HTTP/1.1\r\n")
            last = time.time()
            step = 3.0 if pattern == "slow-body" else 1.0
            closed = False
            while time.time() < until and not closed:
                try:
                    if not s.recv(65536):
                        closed = True
                        break
                    if pattern == "idle":
                        continue  # the answer to our one request; now stay idle
                except socket.timeout:
                    pass
                if pattern != "idle" and time.time() - last >= step:
                    s.sendall(b"x" if pattern == "slow-body" else b"X-Slow: 1\r\n")
                    last = time.time()
        except OSError:
            closed = True
        finally:
            s.close()
        with stats.lock:
            # A connection the server never closed counts too, with the time it was held
            # (a bound that is not enforced must show, not hide as "still open").
            stats.longest = max(stats.longest, time.time() - start)
            if closed:
                stats.closed += 1
            else:
                stats.open_at_end += 1


def ask(url, body):
    req = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    if body:
        req.add_header("Content-Type", "application/json")
    start = time.time()
    try:
        with urllib.request.urlopen(req, timeout=1) as r:
            ok = 200 <= r.status < 300
    except Exception:
        ok = False
    return ok, (time.time() - start) * 1000


def flood(pattern, n, seconds, port, probe_url, normal_url, normal_body):
    until = time.time() + seconds
    stats = Stats()
    threads = [threading.Thread(target=attacker, args=(pattern, port, until, stats), daemon=True)
               for _ in range(n)]
    for t in threads:
        t.start()
    time.sleep(min(2.0, seconds / 4))  # let the attackers take their workers first
    res = {"probe": [0, 0, 0.0], "normal": [0, 0, 0.0]}
    while time.time() < until:
        for kind, url, body in (("probe", probe_url, None), ("normal", normal_url, normal_body)):
            ok, ms = ask(url, body)
            r = res[kind]
            r[0] += 1
            r[1] += 0 if ok else 1
            r[2] = max(r[2], ms)
        time.sleep(0.2)
    for t in threads:
        t.join()
    print("probes=%d probe_fail=%d probe_max_ms=%d normal=%d normal_fail=%d normal_max_ms=%d "
          "opened=%d closed=%d open_at_end=%d longest_s=%.1f" % (
              res["probe"][0], res["probe"][1], res["probe"][2], res["normal"][0],
              res["normal"][1], res["normal"][2], stats.opened, stats.closed, stats.open_at_end,
              stats.longest))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "raw":
        raw(int(sys.argv[2]))
    elif len(sys.argv) >= 8 and sys.argv[1] == "flood":
        body = sys.argv[8].encode() if len(sys.argv) > 8 else None
        flood(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6],
              sys.argv[7], body)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
