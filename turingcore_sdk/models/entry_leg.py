from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.direction import Direction
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="EntryLeg")



@_attrs_define
class EntryLeg:
    """ One posting of an entry. DEBIT adds `amount` to the account's balance, CREDIT subtracts it.

        Attributes:
            account_id (str): A member account's id, or a GL account's code such as `GL_SALARY_CLEARING`.
            direction (Direction): `DEBIT` adds the amount to the account's balance, `CREDIT` subtracts it.
            amount (float): An amount greater than zero, in major units with at most the currency's
                minor digits (2 for AUD), at most 100,000,000,000. `multipleOf` is
                evaluated exactly (decimal), so 19.99 is valid.
            currency (None | str | Unset): An extension; if given, must equal the entry's (422 `LEGS_MUST_SHARE_CURRENCY`).
     """

    account_id: str
    direction: Direction
    amount: float
    currency: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        account_id = self.account_id

        direction = self.direction.value

        amount = self.amount

        currency: None | str | Unset
        if isinstance(self.currency, Unset):
            currency = UNSET
        else:
            currency = self.currency


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "accountId": account_id,
            "direction": direction,
            "amount": amount,
        })
        if currency is not UNSET:
            field_dict["currency"] = currency

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = d.pop("accountId")

        direction = Direction(d.pop("direction"))




        amount = d.pop("amount")

        def _parse_currency(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        currency = _parse_currency(d.pop("currency", UNSET))


        entry_leg = cls(
            account_id=account_id,
            direction=direction,
            amount=amount,
            currency=currency,
        )

        return entry_leg

