-- wrk: pages of 1,000 objects of the TAXII findings collection, HTTP Basic as TAXII clients send.
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
wrk.headers["Accept"] = "application/taxii+json;version=2.1"
request = function()
  return wrk.format("GET", "/taxii2/varta/collections/findings/objects/?limit=1000")
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %.2f, "per_second": %.1f, "p50_ms": %.1f, "p99_ms": %.1f, "max_ms": %.1f, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, errors))
end
