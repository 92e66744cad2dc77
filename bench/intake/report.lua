-- wrk script of bench/intake_bench.py: POST one public report (JSON, no file) per request.
--
--   wrk -t2 -c16 -d15s --latency -s report.lua <url> -- <ids-prefix> <location> [<identity> <signature>]
--
-- <ids-prefix>: every 2xx answer's "incident_id" is written, one a line, to
--               <ids-prefix>.<thread>.ids (so the bench can check each accepted report
--               is stored and published); "-" writes nothing.
-- <location>:   "random" (default): a point drawn uniformly in the test district
--               (lon 112.80-112.90, lat 35.40-35.50) per request;
--               "fixed": always 112.85, 35.45 (every report after the first is linked
--               to it as a duplicate; duplicates are stored and published all the same).
-- <identity> <signature>: X-EnvGrid-Identity / X-EnvGrid-Signature to send (only to reach
--               incidents directly, bypassing the gateway, which signs them itself).
-- done() prints one line "WRKJSON {...}" with the figures the bench reads.

local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   ok = 0
   bad = 0
   fixed = (args[2] == "fixed")
   local prefix = args[1]
   if prefix ~= nil and prefix ~= "" and prefix ~= "-" then
      idfile = io.open(prefix .. "." .. tid .. ".ids", "w")
      idfile:setvbuf("line")  -- wrk never closes thread states: unbuffered enough to lose nothing
   end
   math.randomseed(os.time() * 100 + tid)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   if args[3] ~= nil and args[4] ~= nil then
      wrk.headers["X-EnvGrid-Identity"] = args[3]
      wrk.headers["X-EnvGrid-Signature"] = args[4]
   end
end

local template = '{"channel":"public_web","category":"catering_fumes","description":"油烟扰民",'
   .. '"location":{"lon":%.6f,"lat":%.6f}}'

function request()
   local lon, lat = 112.85, 35.45
   if not fixed then
      lon = 112.80 + math.random() * 0.1
      lat = 35.40 + math.random() * 0.1
   end
   return wrk.format(nil, nil, nil, string.format(template, lon, lat))
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
      if idfile then
         local id = body:match('"incident_id":%s*"([^"]+)"')
         if id then idfile:write(id, "\n") end
      end
   else
      bad = bad + 1
      if bad <= 3 then
         io.stderr:write("HTTP ", status, ": ", string.sub(body or "", 1, 300), "\n")
      end
   end
end

function done(summary, latency, requests)
   local ok_total, bad_total = 0, 0
   for _, thread in ipairs(threads) do
      ok_total = ok_total + (thread:get("ok") or 0)
      bad_total = bad_total + (thread:get("bad") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,'
      .. '"status":%d,"timeout":%d,"ok":%d,"bad":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
      .. '"max_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      ok_total, bad_total, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
