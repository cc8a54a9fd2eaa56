-- OpenAccount: a new account (with a small initial deposit) for a random customer
-- of BENCH_CUSTOMERS_FILE, on product BENCH_PRODUCT.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local customers, product

common.commands("/commands", function()
  customers = common.lines(common.env("BENCH_CUSTOMERS_FILE"))
  product = common.env("BENCH_PRODUCT")
end, function(uuid, tenant)
  local payload = '{"customerId":"' .. common.pick(customers) .. '","productCode":"' .. product
    .. '","currency":"AUD","initialDeposit":10.00}'
  return common.envelope(uuid(), tenant, "OpenAccount", payload)
end)

done = common.done
