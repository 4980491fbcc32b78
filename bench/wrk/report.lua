-- Shared by every wrk script here: prints one machine-readable line at the end of a run,
-- `BENCH {json}`, with throughput and latency percentiles (wrk measures in microseconds).
-- Scripts may set `extra_report()` to add fields (it returns a JSON fragment or "").
function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local extra = ""
  if extra_report then extra = extra_report() end
  io.write(string.format(
    'BENCH {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,' ..
    '"max_ms":%.3f,"non2xx":%d,"socket_errors":%d%s}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout, extra))
end
