"""Every limit the mock enforces, in one place, with the unit last in the name."""

from typing import Final

request_body_bytes_max: Final = 1024 * 1024
legs_per_entry_max: Final = 100
legs_per_entry_min: Final = 2
page_size_max: Final = 1000
page_size_default: Final = 50
# An account's events come 100 to a page by default, as the published contract says.
account_events_page_default: Final = 100
offset_max: Final = 1_000_000_000
# 10^13 minor units is 100 billion in a two-digit currency; balances stay far below
# 2^53 so that every amount written out as a JSON number is exact.
amount_minor_max: Final = 10**13
tags_per_entry_max: Final = 20
metadata_entries_max: Final = 20
fees_per_product_max: Final = 20
features_per_product_max: Final = 50
credit_criteria_entries_max: Final = 20
bonus_conditions_entries_max: Final = 20
# Terms of loans and term deposits: up to 50 years, and a loan offers at most 20 of them.
term_months_max: Final = 600
term_options_max: Final = 20
idempotency_key_chars_max: Final = 200
correlation_id_chars_max: Final = 128
# Every balance, GL accounts included, stays within +-10^15 minor units (10 trillion),
# so that minor/100 written as a JSON number (a double) still holds every cent: below
# 2^45 the spacing of doubles is under a hundredth. An entry that
# would go past it is refused like any other bound (OVERDRAFT_LIMIT_EXCEEDED below,
# MAX_BALANCE_EXCEEDED above).
balance_minor_max: Final = 10**15
