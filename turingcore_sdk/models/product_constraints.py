from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="ProductConstraints")



@_attrs_define
class ProductConstraints:
    """ A product's limits. All optional; money values are amounts >= 0 with at
    most 2 decimals. A constraint that does not apply to the product's type
    is kept and has no effect.

    | constraint | applies to | rule |
    |---|---|---|
    | `minBalance` | DEPOSIT, TERM_DEPOSIT | `initialDeposit` (default 0) must be >= it (422
    `INITIAL_DEPOSIT_BELOW_MINIMUM`); while `allowOverdraft` is not true, every later balance stays >= it (422
    `OVERDRAFT_LIMIT_EXCEEDED`). Default 0. |
    | `maxBalance` | DEPOSIT, TERM_DEPOSIT | no balance above it, the initial deposit included (422
    `MAX_BALANCE_EXCEEDED`). Absent or null: no maximum. |
    | `allowOverdraft` | DEPOSIT | when true, the floor is `-overdraftLimit` instead of `minBalance`. Default false. |
    | `overdraftLimit` | DEPOSIT | the overdraft allowed when `allowOverdraft` is true (default 0). `overdraftLimit > 0`
    while `allowOverdraft` is not true: 422 `CONSTRAINTS_MUST_BE_CONSISTENT`. |
    | `minAmount`, `maxAmount` | LOAN, CREDIT_CARD | the range of the account's facility limit (422
    `FACILITY_LIMIT_OUT_OF_RANGE`); `maxAmount` is the facility limit of an account opened without `facilityLimit`. |
    | `minAmount`, `maxAmount` | TERM_DEPOSIT | the range of the opening amount: `initialDeposit < minAmount` is 422
    `INITIAL_DEPOSIT_BELOW_MINIMUM`, `> maxAmount` is 422 `INITIAL_DEPOSIT_ABOVE_MAXIMUM`. |
    | `termMonthsDefault` | LOAN | the default term; must be one of `termMonthsOptions` when both are given (422
    `CONSTRAINTS_MUST_BE_CONSISTENT`). |
    | `termMonthsOptions` | LOAN | the terms offered: 1..20 distinct integers 1..600 (a repeated value is a 400). |
    | `termMonths` | TERM_DEPOSIT | the term. Kept and returned. |
    | `minAge`, `maxAge` | any | an extension of ours, integers 0..150; kept and returned. |

    Wherever a min and its max are both given, min < max, strictly
    (`minBalance`/`maxBalance`, `minAmount`/`maxAmount`, `minAge`/`maxAge`;
    422 `MIN_MUST_BE_BELOW_MAX`). `null` in any of them means absent.

        Attributes:
            min_balance (float | None | Unset): DEPOSIT and TERM_DEPOSIT: the minimum initial deposit and, while
                `allowOverdraft` is not true, the floor of every later balance. Default 0.
            max_balance (float | None | Unset): DEPOSIT and TERM_DEPOSIT: the ceiling of every balance, the initial deposit
                included. Absent or null: no maximum.
            allow_overdraft (bool | None | Unset): DEPOSIT: when true the floor is `-overdraftLimit` instead of
                `minBalance`. Default false.
            overdraft_limit (float | None | Unset): The overdraft allowed when `allowOverdraft` is true (default 0); greater
                than 0 without `allowOverdraft: true` is 422 `CONSTRAINTS_MUST_BE_CONSISTENT`.
            min_amount (float | None | Unset): LOAN and CREDIT_CARD: the lowest facility limit. TERM_DEPOSIT: the lowest
                opening amount (`initialDeposit`).
            max_amount (float | None | Unset): LOAN and CREDIT_CARD: the highest facility limit, and the facility limit of
                an account opened without `facilityLimit`. TERM_DEPOSIT: the highest opening amount.
            term_months_default (int | None | Unset): LOAN, the default term in months; one of `termMonthsOptions` when both
                are given.
            term_months_options (list[int] | None | Unset): LOAN, the terms offered in months, distinct.
            term_months (int | None | Unset): TERM_DEPOSIT, the term in months.
            min_age (int | None | Unset): The youngest eligible customer (an extension; kept, not enforced).
            max_age (int | None | Unset): The oldest eligible customer (an extension; kept, not enforced).
     """

    min_balance: float | None | Unset = UNSET
    max_balance: float | None | Unset = UNSET
    allow_overdraft: bool | None | Unset = UNSET
    overdraft_limit: float | None | Unset = UNSET
    min_amount: float | None | Unset = UNSET
    max_amount: float | None | Unset = UNSET
    term_months_default: int | None | Unset = UNSET
    term_months_options: list[int] | None | Unset = UNSET
    term_months: int | None | Unset = UNSET
    min_age: int | None | Unset = UNSET
    max_age: int | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        min_balance: float | None | Unset
        if isinstance(self.min_balance, Unset):
            min_balance = UNSET
        else:
            min_balance = self.min_balance

        max_balance: float | None | Unset
        if isinstance(self.max_balance, Unset):
            max_balance = UNSET
        else:
            max_balance = self.max_balance

        allow_overdraft: bool | None | Unset
        if isinstance(self.allow_overdraft, Unset):
            allow_overdraft = UNSET
        else:
            allow_overdraft = self.allow_overdraft

        overdraft_limit: float | None | Unset
        if isinstance(self.overdraft_limit, Unset):
            overdraft_limit = UNSET
        else:
            overdraft_limit = self.overdraft_limit

        min_amount: float | None | Unset
        if isinstance(self.min_amount, Unset):
            min_amount = UNSET
        else:
            min_amount = self.min_amount

        max_amount: float | None | Unset
        if isinstance(self.max_amount, Unset):
            max_amount = UNSET
        else:
            max_amount = self.max_amount

        term_months_default: int | None | Unset
        if isinstance(self.term_months_default, Unset):
            term_months_default = UNSET
        else:
            term_months_default = self.term_months_default

        term_months_options: list[int] | None | Unset
        if isinstance(self.term_months_options, Unset):
            term_months_options = UNSET
        elif isinstance(self.term_months_options, list):
            term_months_options = self.term_months_options


        else:
            term_months_options = self.term_months_options

        term_months: int | None | Unset
        if isinstance(self.term_months, Unset):
            term_months = UNSET
        else:
            term_months = self.term_months

        min_age: int | None | Unset
        if isinstance(self.min_age, Unset):
            min_age = UNSET
        else:
            min_age = self.min_age

        max_age: int | None | Unset
        if isinstance(self.max_age, Unset):
            max_age = UNSET
        else:
            max_age = self.max_age


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if min_balance is not UNSET:
            field_dict["minBalance"] = min_balance
        if max_balance is not UNSET:
            field_dict["maxBalance"] = max_balance
        if allow_overdraft is not UNSET:
            field_dict["allowOverdraft"] = allow_overdraft
        if overdraft_limit is not UNSET:
            field_dict["overdraftLimit"] = overdraft_limit
        if min_amount is not UNSET:
            field_dict["minAmount"] = min_amount
        if max_amount is not UNSET:
            field_dict["maxAmount"] = max_amount
        if term_months_default is not UNSET:
            field_dict["termMonthsDefault"] = term_months_default
        if term_months_options is not UNSET:
            field_dict["termMonthsOptions"] = term_months_options
        if term_months is not UNSET:
            field_dict["termMonths"] = term_months
        if min_age is not UNSET:
            field_dict["minAge"] = min_age
        if max_age is not UNSET:
            field_dict["maxAge"] = max_age

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_min_balance(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_balance = _parse_min_balance(d.pop("minBalance", UNSET))


        def _parse_max_balance(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        max_balance = _parse_max_balance(d.pop("maxBalance", UNSET))


        def _parse_allow_overdraft(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        allow_overdraft = _parse_allow_overdraft(d.pop("allowOverdraft", UNSET))


        def _parse_overdraft_limit(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        overdraft_limit = _parse_overdraft_limit(d.pop("overdraftLimit", UNSET))


        def _parse_min_amount(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_amount = _parse_min_amount(d.pop("minAmount", UNSET))


        def _parse_max_amount(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        max_amount = _parse_max_amount(d.pop("maxAmount", UNSET))


        def _parse_term_months_default(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        term_months_default = _parse_term_months_default(d.pop("termMonthsDefault", UNSET))


        def _parse_term_months_options(data: object) -> list[int] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                term_months_options_type_0 = cast(list[int], data)

                return term_months_options_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int] | None | Unset, data)

        term_months_options = _parse_term_months_options(d.pop("termMonthsOptions", UNSET))


        def _parse_term_months(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        term_months = _parse_term_months(d.pop("termMonths", UNSET))


        def _parse_min_age(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        min_age = _parse_min_age(d.pop("minAge", UNSET))


        def _parse_max_age(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_age = _parse_max_age(d.pop("maxAge", UNSET))


        product_constraints = cls(
            min_balance=min_balance,
            max_balance=max_balance,
            allow_overdraft=allow_overdraft,
            overdraft_limit=overdraft_limit,
            min_amount=min_amount,
            max_amount=max_amount,
            term_months_default=term_months_default,
            term_months_options=term_months_options,
            term_months=term_months,
            min_age=min_age,
            max_age=max_age,
        )

        return product_constraints

