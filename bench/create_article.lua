-- wrk script: POSTs GraphQL createArticle mutations, each with a headline of its own (thread
-- and counter), as the editor whose token is in env AUTH; section and author from env
-- SECTION and AUTHOR. Prints the same RESULT line as get_paths.lua (a GraphQL error
-- answers 200: bench/stream.sh counts the events the run wrote instead).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("AUTH")
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"query":"mutation { createArticle(input: { headline: \\"Stream bench %d %d %d\\", section: \\"%s\\", authors: [\\"%s\\"], body: [{ paragraph: { html: \\"Bench.\\" } }] }) { id } }"}',
    id or 0, counter, math.random(1, 1000000000), os.getenv("SECTION"), os.getenv("AUTHOR"))
  return wrk.format(nil, "/graphql", nil, body)
end

function done(summary, latency, requests)
  local errs = summary.errors.connect + summary.errors.read + summary.errors.write
             + summary.errors.status + summary.errors.timeout
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d non2xx=%d requests=%d bytes_per_req=%.0f\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, errs, summary.errors.status,
    summary.requests, (summary.bytes / math.max(summary.requests, 1))))
end
