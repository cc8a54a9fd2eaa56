-- One account's events: the first page (BENCH_PAGE_LIMIT) of a random account of
-- BENCH_ACCOUNTS_FILE.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

common.by_id("/accounts/", "BENCH_ACCOUNTS_FILE", function()
  return string.format("/events?limit=%d", common.number("BENCH_PAGE_LIMIT", 50))
end)

done = common.done
