-- report.lua - wrk's end-of-run report for the benchmark (tests/bench/bench.sh), and on its own
-- a script that GETs the URL given (/stats or /stats/aggregated with its query):
--
--   wrk -t1 -c1 -d5s --latency -s tests/bench/report.lua \
--       'http://127.0.0.1:PORT/stats?site_id=bench-site&date=2025-11-15'
--
-- At the end one line: "BENCH requests=N duration_us=D p50_us=P p99_us=Q socket_errors=E
-- non2xx=S" (latency in microseconds).

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d socket_errors=%d non2xx=%d\n",
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
        e.connect + e.read + e.write + e.timeout, e.status))
end
