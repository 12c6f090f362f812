-- event.lua - wrk script: POST one valid event per request to the URL given (/event).
--
--   wrk -t1 -c1 -d8s --latency -s tests/bench/event.lua http://127.0.0.1:PORT/event
--
-- Event i: site_id "bench-site", event_type "click" when i % 4 == 3 else "page_view",
-- path "/p<i % 50>", user_id "u<i % 200>", timestamp 2025-11-15T10:00:00Z + (i % 3600) s
-- (the distribution of tests/bench.sh and tests/rawinsert.c). Each thread cycles through
-- 200 requests formatted once at start, so the script costs wrk next to nothing.
-- At the end one line: "BENCH requests=N duration_us=D p50_us=P p99_us=Q socket_errors=E
-- non2xx=S" (latency in microseconds).

local function event(i)
    local s = i % 3600
    return string.format(
        '{"site_id":"bench-site","event_type":"%s","path":"/p%d","user_id":"u%d",' ..
        '"timestamp":"2025-11-15T10:%02d:%02dZ"}',
        (i % 4 == 3) and "click" or "page_view", i % 50, i % 200,
        math.floor(s / 60), s % 60)
end

local threads = 0
function setup(thread)
    thread:set("tid", threads)
    threads = threads + 1
end

local reqs = {}
local next_req = 0
function init(args)
    local first = (tid or 0) * 200
    for k = 1, 200 do
        reqs[k] = wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                             event(first + k - 1))
    end
end

function request()
    next_req = next_req % #reqs + 1
    return reqs[next_req]
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d socket_errors=%d non2xx=%d\n",
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
        e.connect + e.read + e.write + e.timeout, e.status))
end
