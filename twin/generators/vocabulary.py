"""What the plan says: the GL accounts by role, narratives, tags, the states' postcodes,
and the generator's limits."""

from __future__ import annotations

import re
from uuid import UUID

# command_id = uuid5(COMMAND_ID_NAMESPACE, idempotency_key).
COMMAND_ID_NAMESPACE = UUID("dbba7f46-bf5e-575f-a989-d7ae3b5844fe")
TENANT_LANE = "tenant"

GL_SALARY_CLEARING = "GL_SALARY_CLEARING"
GL_CARD_CLEARING = "GL_CARD_CLEARING"
GL_BPAY_CLEARING = "GL_BPAY_CLEARING"
GL_NPP_CLEARING = "GL_NPP_CLEARING"
GL_ATM_CLEARING = "GL_ATM_CLEARING"
GL_LOAN_FUNDING = "GL_LOAN_FUNDING"
# The GL accounts the plan posts to, each by its role; all in the contract's chart
# (`turingcore_client.contract.gl_accounts()`, checked by plan_scenario).
GL_ROLES = (
    GL_SALARY_CLEARING,
    GL_CARD_CLEARING,
    GL_BPAY_CLEARING,
    GL_NPP_CLEARING,
    GL_ATM_CLEARING,
    GL_LOAN_FUNDING,
)
# Every synthetic member's riskProfile: the published example's segment, and a KYC
# status that says the check was simulated.
RISK_SEGMENT = "RETAIL"
KYC_STATUS = "SIMULATED_PASSED"
# An account id no tenant has, for the deliberately invalid ACCOUNT_MUST_EXIST entry.
GL_UNKNOWN = "GL_NO_SUCH_ACCOUNT"

# Limits, unit last.
entry_amount_minor_max = 10**13
pay_hour_first = 6  # salaries land between 06:00 and 07:00, transfers to savings after
seed_clock_seconds_max = 14 * 3600  # seed commands are stamped 09:00 + i seconds, capped
days_per_block = 30  # "per month" counts are drawn per block of 30 days
loan_term_months_fallback = 12  # a loan product without termMonthsDefault
faker_pool_names = 400  # first and last names each: 160,000 combinations
faker_pool_streets = 300
faker_pool_suburbs = 200

_SALARIED = frozenset({"full_time", "part_time", "self_employed"})

# The states with their share of the population (ABS, rounded) and the postcode ranges
# of their capital city ("metro") and of the rest ("regional", also used for "rural").
# Ranges are inclusive, from Australia Post's allocation by state.
_STATES: dict[str, tuple[float, tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]] = {
    "NSW": (0.31, ((2000, 2234),), ((2250, 2599), (2619, 2899))),
    "VIC": (0.26, ((3000, 3207),), ((3211, 3999),)),
    "QLD": (0.20, ((4000, 4207),), ((4208, 4999),)),
    "WA": (0.11, ((6000, 6199),), ((6200, 6797),)),
    "SA": (0.07, ((5000, 5199),), ((5200, 5799),)),
    "TAS": (0.02, ((7000, 7099),), ((7100, 7799),)),
    "ACT": (0.02, ((2600, 2618), (2900, 2920)), ()),
    "NT": (0.01, ((800, 832),), ((835, 899),)),
}

_NARRATIVE = {
    "salary": "Salary",
    "savings_transfer": "Transfer to savings",
    "npp": "NPP payment",
    "atm": "ATM withdrawal",
    "card_repayment": "Credit card repayment",
    "loan_drawdown": "Loan drawdown",
}
_SPEND_NARRATIVE = {
    "small": "Cafe and lunch",
    "medium": "Groceries and fuel",
    "large": "Shopping and dining",
}
# PostEntry `tags`: an object of strings, as in the published examples (salary
# {"category": "INCOME", "source": "PAYROLL_SIM"}, card spend {"category": ...,
# "channel": "POS", "merchantMcc": ...}, transfer {"category": "TRANSFER", "channel":
# "ONLINE"}). One dict per kind, shared by the commands of that kind: payloads are
# read-only.
tag_value_chars_max = 100
_TAGS: dict[str, dict[str, str]] = {
    "salary": {"category": "INCOME", "source": "PAYROLL_SIM"},
    "savings_transfer": {"category": "TRANSFER", "channel": "ONLINE"},
    "npp": {"category": "PAYMENT", "channel": "NPP"},
    "atm": {"category": "CASH_WITHDRAWAL", "channel": "ATM"},
    "credit_card_purchase": {"category": "PURCHASE", "channel": "POS"},
    "loan_repayment": {"category": "LOAN_REPAYMENT", "channel": "INTERNAL"},
    "loan_drawdown": {"category": "LOAN_DRAWDOWN", "channel": "INTERNAL"},
}
# Card spend by size: the category and a merchant category code (ISO 18245) of it.
_SPEND_TAGS: dict[str, tuple[str, str]] = {
    "small": ("DINING", "5814"),  # fast food restaurants
    "medium": ("GROCERIES", "5411"),  # grocery stores, supermarkets
    "large": ("SHOPPING", "5311"),  # department stores
}
_SPEND_TAGS_OTHER_MCC = "5999"  # miscellaneous retail
_CARD_PAYMENT_TAGS = {
    mode: {"category": "CARD_REPAYMENT", "channel": "INTERNAL", "paymentType": mode.upper()}
    for mode in ("full_balance", "minimum", "partial")
}


def _tag_value(name: str) -> str:
    """A scenario's key (a bill category, a spend size) as an upper-case tag value."""
    return (_NOT_TAG.sub("_", name).strip("_").upper() or "OTHER")[:tag_value_chars_max]


_NOT_TAG = re.compile(r"[^A-Za-z0-9]+")
