-- CreateCustomer: a unique email and mobile per request. The harness gives every
-- wrk run its own BENCH_SEQ_BASE, so runs on one store never collide.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local n

function setup(thread)
  thread:set("thread_offset", thread_count_so_far or 0)
  thread_count_so_far = (thread_count_so_far or 0) + 1000000
end

common.commands("/commands", function()
  n = common.number("BENCH_SEQ_BASE") + (thread_offset or 0)
end, function(uuid, tenant)
  n = n + 1
  local hi, lo = math.floor(n / 100000000), n % 100000000
  local payload = '{"person":{"firstName":"Bench","lastName":"Member","dateOfBirth":"1990-01-01",'
    .. string.format('"email":"bench.%d.%d@example.com","mobile":"+61%04d%08d"},', hi, lo, hi, lo)
    .. '"address":{"line1":"1 Bench St","suburb":"Sydney","state":"NSW","postcode":"2000",'
    .. '"country":"AU"}}'
  return common.envelope(uuid(), tenant, "CreateCustomer", payload)
end)

done = common.done
