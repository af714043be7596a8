-- wrk: GET /api/v1/search with the 100 queries of bench/queries.txt in turn, a token in the header,
-- and a JSON line of the figures at the end.
local queries = {}
local i = 0
local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
for line in io.lines(os.getenv("QUERIES")) do
  if line ~= "" then queries[#queries + 1] = urlencode(line) end
end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
request = function()
  i = i % #queries + 1
  return wrk.format("GET", "/api/v1/search?limit=20&q=" .. queries[i])
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %.2f, "per_second": %.1f, "p50_ms": %.1f, "p99_ms": %.1f, "max_ms": %.1f, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, errors))
end
