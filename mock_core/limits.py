"""Every limit the mock enforces, in one place, with the unit last in the name."""

from typing import Final

request_body_bytes_max: Final = 1024 * 1024
legs_per_entry_max: Final = 100
legs_per_entry_min: Final = 2
page_size_max: Final = 1000
page_size_default: Final = 50
offset_max: Final = 1_000_000_000
# 10^13 minor units is 100 billion in a two-digit currency; balances stay far below
# 2^53 so that every amount written out as a JSON number is exact.
amount_minor_max: Final = 10**13
tags_per_entry_max: Final = 20
metadata_entries_max: Final = 20
fees_per_product_max: Final = 20
features_per_product_max: Final = 50
credit_criteria_entries_max: Final = 20
idempotency_key_chars_max: Final = 200
correlation_id_chars_max: Final = 128
