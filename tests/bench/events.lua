-- events.lua - wrk script: POST a JSON array of 500 valid events per request to the URL
-- given (/events).
--
--   wrk -t2 -c8 -d8s --latency -s tests/bench/events.lua http://127.0.0.1:PORT/events
--
-- Event i: site_id "bench-site", event_type "click" when i % 4 == 3 else "page_view",
-- path "/p<i % 50>", user_id "u<i % 200>", timestamp 2025-11-15T10:00:00Z + (i % 3600) s
-- (the distribution of tests/bench.sh and tests/rawinsert.c). Each thread cycles through
-- 8 bodies (events 0-3999 of the thread) formatted once at start.
-- At the end one line: "BENCH requests=N duration_us=D p50_us=P p99_us=Q socket_errors=E
-- non2xx=S" (latency in microseconds); events = requests * 500.

local PER_REQUEST = 500

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
    local first = (tid or 0) * 8 * PER_REQUEST
    for r = 1, 8 do
        local evs = {}
        for k = 1, PER_REQUEST do
            evs[k] = event(first + (r - 1) * PER_REQUEST + k - 1)
        end
        reqs[r] = wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                             "[" .. table.concat(evs, ",") .. "]")
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
