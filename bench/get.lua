-- wrk script: GETs the target URL as is (no Accept-Encoding, so answers are uncompressed)
-- and prints one machine-readable line after the run, as ../shared/bench/peer/rotate.lua:
--   RESULT rps= p50_ms= p90_ms= p99_ms= max_ms= errors= non2xx= requests= bytes_per_req=
-- (errors = connect+read+write+timeout+non-2xx; bytes_per_req includes response headers)

function done(summary, latency, requests)
  local errs = summary.errors.connect + summary.errors.read + summary.errors.write
             + summary.errors.status + summary.errors.timeout
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d non2xx=%d requests=%d bytes_per_req=%.0f\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, errs, summary.errors.status,
    summary.requests, summary.bytes / math.max(summary.requests, 1)))
end
