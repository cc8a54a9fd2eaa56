-- Helpers shared by the bench scripts; each script loads this file with dofile.
-- The Python harness (bench/load.py) passes everything through BENCH_* variables
-- and reads the one line that done() prints ("BENCH_RESULT {json}").
local M = {}

function M.env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then
    if default == nil then
      error("bench: the environment variable " .. name .. " is not set")
    end
    return default
  end
  return value
end

function M.number(name, default)
  return tonumber(M.env(name, default and tostring(default)))
end

-- Seed math.random from /dev/urandom, so that two runs never share a sequence.
function M.seed()
  local seed = os.time()
  local f = io.open("/dev/urandom", "rb")
  if f then
    local b = f:read(4)
    f:close()
    seed = ((b:byte(1) * 256 + b:byte(2)) * 256 + b:byte(3)) * 256 + b:byte(4)
  end
  math.randomseed(seed)
  for _ = 1, 10 do math.random() end
end

local function hex16()
  return string.format("%04x", math.random(0, 65535))
end

-- A factory of version-4 UUIDs: a random prefix per thread and a counter in the
-- last 12 hex digits, so every commandId of a run is fresh whatever the RNG does.
function M.uuid_factory()
  local prefix = hex16() .. hex16() .. "-" .. hex16() .. "-"
    .. string.format("4%03x", math.random(0, 4095)) .. "-"
    .. string.format("%04x", 32768 + math.random(0, 16383)) .. "-"
  local n = 0
  return function()
    n = n + 1
    return prefix .. string.format("%06x%06x", math.floor(n / 16777216), n % 16777216)
  end
end

-- The lines of a file (ids written by the harness), as a Lua array.
function M.lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  if #out == 0 then error("bench: " .. path .. " is empty") end
  return out
end

function M.pick(list)
  return list[math.random(1, #list)]
end

function M.headers(key)
  return {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
  }
end

function M.tenant_path(suffix)
  return "/v1/tenants/" .. M.env("BENCH_TENANT") .. suffix
end

-- The command envelope around a payload (a JSON text), with a fresh commandId.
function M.envelope(command_id, tenant, command_type, payload, idempotency_key)
  local key = ""
  if idempotency_key then key = ',"idempotencyKey":"' .. idempotency_key .. '"' end
  return '{"commandId":"' .. command_id .. '","tenantId":"' .. tenant
    .. '","commandType":"' .. command_type
    .. '","actor":{"actorType":"SYSTEM","actorId":"bench"}'
    .. ',"timestamp":"2025-01-15T09:00:00+11:00"' .. key
    .. ',"payload":' .. payload .. '}'
end

-- Cents as a JSON number with two decimals (1234 -> 12.34).
function M.money(cents)
  return string.format("%d.%02d", math.floor(cents / 100), cents % 100)
end

-- A PostEntry payload moving a random amount between `a` and `b`, either way round.
function M.transfer(a, b)
  local src, dst = a, b
  if math.random() < 0.5 then src, dst = b, a end
  local amount = M.money(math.random(1, 10000))
  return '{"bookingDate":"2025-01-15","valueDate":"2025-01-15","currency":"AUD",'
    .. '"legs":[{"accountId":"' .. src .. '","direction":"CREDIT","amount":' .. amount .. '},'
    .. '{"accountId":"' .. dst .. '","direction":"DEBIT","amount":' .. amount .. '}],'
    .. '"narrative":"bench transfer"}'
end

-- Called once at the end in wrk's main Lua state: one machine-readable line.
function M.done(summary, latency, requests)
  local e = summary.errors
  local function q(p) return latency:percentile(p) end
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"min":%.1f,"max":%.1f,"mean":%.1f,"stdev":%.1f,'
      .. '"p50":%.1f,"p75":%.1f,"p90":%.1f,"p95":%.1f,"p99":%.1f,"p999":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.max, latency.mean, latency.stdev,
    q(50), q(75), q(90), q(95), q(99), q(99.9)))
end

-- The shapes of the scripts: each defines wrk's init and request (globals of the
-- thread's Lua state) from what differs between the scripts.

-- The core of them: init seeds, reads the path (the tenant's `suffix`; for a POST,
-- BENCH_PATH overrides it) and the headers, then calls `prepare()`; each request
-- is `method` to the path .. the tail `each()` returns, with the body it returns.
local function script(method, suffix, prepare, each)
  local path, headers
  function init(args)
    M.seed()
    path, headers = M.tenant_path(suffix), M.headers(M.env("BENCH_KEY"))
    if method == "POST" then path = M.env("BENCH_PATH", path) end
    prepare()
  end
  function request()
    local tail, body = each()
    return wrk.format(method, path .. tail, headers, body)
  end
end

-- GET a page of BENCH_PAGE_LIMIT at a random position below the total in the
-- variable `total`; `query` formats the limit and the position, or with `after`
-- the position and the limit.
function M.paged(suffix, total, query, after)
  local limit, last
  script("GET", suffix, function()
    limit = M.number("BENCH_PAGE_LIMIT", 50)
    last = math.max(0, M.number(total) - limit)
  end, function()
    local position = math.random(0, last)
    return after and query:format(position, limit) or query:format(limit, position)
  end)
end

-- GET `prefix` .. a random id of the file named by the variable `ids` .. `suffix()`
-- (`suffix` is called once, in init).
function M.by_id(prefix, ids, suffix)
  local list, tail
  script("GET", prefix, function()
    list, tail = M.lines(M.env(ids)), suffix()
  end, function()
    return M.pick(list) .. tail
  end)
end

-- POST to the tenant's `suffix` (or BENCH_PATH) what `body(uuid, tenant)` makes:
-- `uuid` gives a fresh id per call. `prepare()` runs at the end of init.
function M.commands(suffix, prepare, body)
  local tenant, uuid
  script("POST", suffix, function()
    tenant, uuid = M.env("BENCH_TENANT"), M.uuid_factory()
    prepare()
  end, function()
    return "", body(uuid, tenant)
  end)
end

return M
