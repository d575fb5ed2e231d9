-- wrk script: GETs the paths of the file named by env PATHS (one per line), rotating
-- through them (each wrk thread starts at a different offset), or without PATHS the
-- target URL as is; answers uncompressed; with env AUTH, as that bearer token. After the run prints one machine-readable line,
-- as the peer kit's rotate.lua does (errors = connect+read+write+timeout+non-2xx;
-- bytes_per_req includes response headers):
--   RESULT rps= p50_ms= p90_ms= p99_ms= max_ms= errors= non2xx= requests= bytes_per_req=
local paths = {}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = os.getenv("PATHS")
  if file and #file > 0 then
    for line in io.lines(file) do
      if #line > 0 then table.insert(paths, line) end
    end
  end
  counter = (id or 0) * 97
  wrk.method = "GET"
  wrk.headers["Accept-Encoding"] = "identity"
  local auth = os.getenv("AUTH")
  if auth and #auth > 0 then wrk.headers["Authorization"] = "Bearer " .. auth end
end

function request()
  if #paths == 0 then return wrk.format(nil, nil) end
  counter = counter + 1
  return wrk.format(nil, paths[(counter % #paths) + 1])
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
