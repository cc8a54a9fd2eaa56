"""The generator's local picture of the members and their accounts, in integer minor units.

The plan generator keeps one `LedgerAccount` per member account and moves its balance with
every posting it plans, so that it never plans a posting the service would refuse. The
bounds are those of docs/contract.md ("Account bounds"), with the contract's sign
convention: a DEBIT leg adds to a balance and a CREDIT leg subtracts.

- DEPOSIT and TERM_DEPOSIT: `floor <= balance <= maxBalance` (no maximum when the
  product has none), the floor being `minBalance` (default 0), or `-overdraftLimit`
  when `allowOverdraft` is true.
- LOAN and CREDIT_CARD: `-facility limit <= balance <= 0`, the facility limit being the
  `facilityLimit` the account was opened with, else the product's `maxAmount`. The plan
  opens both without one, and keeps a card within the member's own (lower) limit.
- GL accounts have no bounds and are not modelled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from turingcore_client.money import minor_units
from twin.config import ProductConfig

__all__ = ["LedgerAccount", "Member"]


@dataclass(slots=True)
class LedgerAccount:
    """One member account: its local ref, product and bounds, and its running balance."""

    ref: str
    product_code: str
    product_type: str
    lower: int
    upper: int | None
    balance: int = 0

    @classmethod
    def open(cls, ref: str, product: ProductConfig, facility_limit: int = 0) -> LedgerAccount:
        """An empty account of `product`, with the bounds the contract gives it."""
        c = product.constraints
        if product.is_facility:
            assert facility_limit > 0, "a loan or card needs its facility limit"
            return cls(ref, product.code, product.type, -facility_limit, 0)
        lower = minor_units(c.floor())
        upper = minor_units(c.max_balance) if c.max_balance is not None else None
        return cls(ref, product.code, product.type, lower, upper)

    def room_to_credit(self) -> int:
        """The largest CREDIT (which subtracts) that keeps the balance within bounds."""
        return self.balance - self.lower

    def room_to_debit(self) -> int | None:
        """The largest DEBIT (which adds) that keeps the balance within bounds; None: any."""
        return None if self.upper is None else self.upper - self.balance

    def credit(self, amount: int) -> None:
        assert 0 < amount <= self.room_to_credit(), (self.ref, amount, self.balance)
        self.balance -= amount

    def debit(self, amount: int) -> None:
        room = self.room_to_debit()
        assert amount > 0 and (room is None or amount <= room), (self.ref, amount, self.balance)
        self.balance += amount


@dataclass(slots=True)
class Member:
    """A generated member: who they are for the draws, and their accounts by slot."""

    index: int
    local_id: str
    date_of_birth: dt.date
    age: int
    income_band: str
    employment: str
    # Per fortnightly pay, 0 for members without a salary; and the last one paid.
    salary_minor: int = 0
    last_salary_minor: int = 0
    # The first simulated day (0-based) the salary arrives, None for no salary.
    pay_offset: int | None = None
    # The share of each salary moved to savings, 0 for members who do not save.
    savings_fraction: float = 0.0
    # Slot ("TXN", "SAV", "TD", "PL", "HL", "CC") -> account.
    accounts: dict[str, LedgerAccount] = field(default_factory=dict)
    # Loan slot -> the monthly repayment in minor units.
    repayments: dict[str, int] = field(default_factory=dict)
    # The day of the month the card is repaid, 0 without a card.
    card_due_day: int = 0
    # Behaviour flags drawn once.
    pays_bills: bool = False
    uses_npp: bool = False
    uses_atm: bool = False
