-- SPDX-License-Identifier: Apache-2.0
-- wrk script for the baseline only: replays the first N pre-signed WhatsApp webhooks
-- (bench/gen_requests.py output) cyclically, to check that bench/loadgen is not what limits the
-- nginx figure. wrk 4.1 cannot send each request exactly once and still report an honest rate
-- (its run time is always the full -d, and thread:stop() only ends one thread early), so the
-- Suara phases use bench/loadgen instead.
--   wrk -t2 -c32 -d10s -s bench/webhooks.lua http://127.0.0.1:18081/webhooks/wa -- FILE N
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local limit = tonumber(args[2] or "20000")
  reqs = {}
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    reqs[#reqs + 1] = wrk.format("POST", wrk.path, {
      ["Content-Type"] = "application/json",
      ["X-Hub-Signature-256"] = "sha256=" .. line:sub(1, tab - 1),
    }, line:sub(tab + 1))
    if #reqs >= limit then break end
  end
  pos = 0
  bad = 0
end

function request()
  pos = pos % #reqs + 1
  return reqs[pos]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, t in ipairs(threads) do
    total_bad = total_bad + (t:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, total_bad,
    e.connect + e.read + e.write + e.timeout))
end
