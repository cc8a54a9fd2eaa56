-- OpenAccount: a new account (with a small initial deposit) for a random customer
-- of BENCH_CUSTOMERS_FILE, on product BENCH_PRODUCT.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local tenant, path, headers, uuid, customers, product

function init(args)
  common.seed()
  tenant = common.env("BENCH_TENANT")
  path = "/v1/tenants/" .. tenant .. "/commands"
  headers = common.headers(common.env("BENCH_KEY"))
  uuid = common.uuid_factory()
  customers = common.lines(common.env("BENCH_CUSTOMERS_FILE"))
  product = common.env("BENCH_PRODUCT")
end

function request()
  local payload = '{"customerId":"' .. common.pick(customers) .. '","productCode":"' .. product
    .. '","currency":"AUD","initialDeposit":10.00}'
  return wrk.format("POST", path, headers, common.envelope(uuid(), tenant, "OpenAccount", payload))
end

done = common.done
