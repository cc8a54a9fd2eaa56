from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.trial_balance_line_account_type import TrialBalanceLineAccountType
from typing import cast






T = TypeVar("T", bound="TrialBalanceLine")



@_attrs_define
class TrialBalanceLine:
    """ One account of a trial balance, with its balance at that point.

        Attributes:
            account_id (str):
            account_type (None | TrialBalanceLineAccountType): The account's type, or null for a posted-to account the
                projection lacks.
            currency (str): ISO 4217 alphabetic code. Whether it is supported is an invariant (422).
            balance (float):
     """

    account_id: str
    account_type: None | TrialBalanceLineAccountType
    currency: str
    balance: float





    def to_dict(self) -> dict[str, Any]:
        account_id = self.account_id

        account_type: None | str
        if isinstance(self.account_type, TrialBalanceLineAccountType):
            account_type = self.account_type.value
        else:
            account_type = self.account_type

        currency = self.currency

        balance = self.balance


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "accountId": account_id,
            "accountType": account_type,
            "currency": currency,
            "balance": balance,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = d.pop("accountId")

        def _parse_account_type(data: object) -> None | TrialBalanceLineAccountType:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                account_type_type_1 = TrialBalanceLineAccountType(data)



                return account_type_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TrialBalanceLineAccountType, data)

        account_type = _parse_account_type(d.pop("accountType"))


        currency = d.pop("currency")

        balance = d.pop("balance")

        trial_balance_line = cls(
            account_id=account_id,
            account_type=account_type,
            currency=currency,
            balance=balance,
        )

        return trial_balance_line

