-- OpenAccount: a new account (with a small initial deposit) for a random customer
-- of BENCH_CUSTOMERS_FILE, on product BENCH_PRODUCT.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local customers, product

common.commands("OpenAccount", function()
  customers = common.lines(common.env("BENCH_CUSTOMERS_FILE"))
  product = common.env("BENCH_PRODUCT")
end, function()
  return '{"customerId":"' .. common.pick(customers) .. '","productCode":"' .. product
    .. '","currency":"AUD","initialDeposit":10.00}'
end)
