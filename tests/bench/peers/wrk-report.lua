-- wrk-report.lua - wrk's summary as one line for run.py: requests, bytes,
-- duration (µs), the error counts and latency quantiles (µs).
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRK requests=%d bytes=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p99_us=%d p999_us=%d max_us=%d\n",
      summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write,
      e.status, e.timeout, latency:percentile(50), latency:percentile(99),
      latency:percentile(99.9), latency.max))
end
