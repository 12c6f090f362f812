-- post.lua - wrk script: POST valid events to the URL given, one event per request
-- (/event), or, with an argument N, a JSON array of N events per request (/events):
--
--   wrk -t1 -c1 -d8s --latency -s tests/bench/post.lua http://127.0.0.1:PORT/event
--   wrk -t2 -c8 -d8s --latency -s tests/bench/post.lua http://127.0.0.1:PORT/events -- 500
--
-- Event i: site_id "bench-site", event_type "click" when i % 4 == 3 else "page_view",
-- path "/p<i % 50>", user_id "u<i % 200>", timestamp 2025-11-15T10:00:00Z + (i % 3600) s
-- (the distribution of tests/bench/bench.sh and tests/bench/rawinsert.c). Each thread formats its
-- bodies once at start (200 single events, or 8 arrays) and cycles through them, so the
-- script costs wrk next to nothing. The report at the end is report.lua's.

dofile("tests/bench/report.lua")

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
    local per = tonumber(args[1])
    local bodies = per and 8 or 200
    local first = (tid or 0) * bodies * (per or 1)
    for r = 1, bodies do
        local body
        if per then
            local evs = {}
            for k = 1, per do
                evs[k] = event(first + (r - 1) * per + k - 1)
            end
            body = "[" .. table.concat(evs, ",") .. "]"
        else
            body = event(first + r - 1)
        end
        reqs[r] = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
    end
end

function request()
    next_req = next_req % #reqs + 1
    return reqs[next_req]
end
