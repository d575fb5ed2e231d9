-- wrk script: POSTs reader comments to /api/v1/articles/{slug}/comments, rotating through the
-- slugs of the file named by env PATHS, each from an address of its own (X-Forwarded-For;
-- the server trusts 127.0.0.1 as a proxy), with a text of its own and `rendered_at` a minute
-- ago, so the built-in scoring runs in full (limits, duplicates, bursts, history) and most
-- comments are approved. Prints the same RESULT line as get_paths.lua.
local slugs = {}
local threads = {}
local counter = 0
local words = { "council", "budget", "school", "harbour", "weather", "transport", "housing",
  "election", "market", "report", "thanks", "agree", "question", "source", "update" }

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("PATHS")) do
    if #line > 0 then table.insert(slugs, line) end
  end
  counter = (id or 0) * 7919
  math.randomseed(os.time() + (id or 0))
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept-Encoding"] = "identity"
end

function request()
  counter = counter + 1
  local text = {}
  for i = 1, 12 do text[i] = words[math.random(#words)] end
  local body = string.format(
    '{"author_name":"Reader %d","author_email":"r%d@example.org","body":"%s %d","rendered_at":"%s"}',
    counter % 5000, counter % 5000, table.concat(text, " "), math.random(1, 1000000000),
    os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 60))
  -- wrk.format takes these instead of wrk.headers, so they name the content type too.
  local headers = { ["Content-Type"] = "application/json", ["Accept-Encoding"] = "identity",
    ["X-Forwarded-For"] = string.format("10.%d.%d.%d",
      math.random(0, 255), math.random(0, 255), math.random(1, 254)) }
  return wrk.format(nil, "/api/v1/articles/" .. slugs[(counter % #slugs) + 1] .. "/comments", headers, body)
end

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
