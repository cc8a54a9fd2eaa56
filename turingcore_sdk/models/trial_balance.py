from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.trial_balance_line import TrialBalanceLine





T = TypeVar("T", bound="TrialBalance")



@_attrs_define
class TrialBalance:
    """ A page of every account's balance as of a point, as the log sums them, with
    the totals of every account (an extension).

        Attributes:
            tenant_id (str): A tenant's code, which is also its tenantId.
            currency (str): ISO 4217 alphabetic code. Whether it is supported is an invariant (422).
            as_of_sequence (int | None):
            as_of_date (datetime.date | None):
            through_sequence (int):
            postings (int): The `EntryPosted` and `FundsPosted` events counted.
            accounts (list[TrialBalanceLine]): This page's lines, in opening order.
            total_debits (float): The sum of the positive balances (of every account, not only this page's).
            total_credits (float): The sum of the negative balances, negated.
            sum_ (float): totalDebits - totalCredits; 0 whenever the log is sound.
            next_cursor (int | None): The `after` value for the next page, or null on the last page.
     """

    tenant_id: str
    currency: str
    as_of_sequence: int | None
    as_of_date: datetime.date | None
    through_sequence: int
    postings: int
    accounts: list[TrialBalanceLine]
    total_debits: float
    total_credits: float
    sum_: float
    next_cursor: int | None





    def to_dict(self) -> dict[str, Any]:
        from ..models.trial_balance_line import TrialBalanceLine # noqa: PLC0415
        tenant_id = self.tenant_id

        currency = self.currency

        as_of_sequence: int | None
        as_of_sequence = self.as_of_sequence

        as_of_date: None | str
        if isinstance(self.as_of_date, datetime.date):
            as_of_date = self.as_of_date.isoformat()
        else:
            as_of_date = self.as_of_date

        through_sequence = self.through_sequence

        postings = self.postings

        accounts = []
        for accounts_item_data in self.accounts:
            accounts_item = accounts_item_data.to_dict()
            accounts.append(accounts_item)



        total_debits = self.total_debits

        total_credits = self.total_credits

        sum_ = self.sum_

        next_cursor: int | None
        next_cursor = self.next_cursor


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "tenantId": tenant_id,
            "currency": currency,
            "asOfSequence": as_of_sequence,
            "asOfDate": as_of_date,
            "throughSequence": through_sequence,
            "postings": postings,
            "accounts": accounts,
            "totalDebits": total_debits,
            "totalCredits": total_credits,
            "sum": sum_,
            "nextCursor": next_cursor,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.trial_balance_line import TrialBalanceLine # noqa: PLC0415
        d = dict(src_dict)
        tenant_id = d.pop("tenantId")

        currency = d.pop("currency")

        def _parse_as_of_sequence(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        as_of_sequence = _parse_as_of_sequence(d.pop("asOfSequence"))


        def _parse_as_of_date(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                as_of_date_type_0 = datetime.date.fromisoformat(data)



                return as_of_date_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        as_of_date = _parse_as_of_date(d.pop("asOfDate"))


        through_sequence = d.pop("throughSequence")

        postings = d.pop("postings")

        accounts = []
        _accounts = d.pop("accounts")
        for accounts_item_data in (_accounts):
            accounts_item = TrialBalanceLine.from_dict(accounts_item_data)



            accounts.append(accounts_item)


        total_debits = d.pop("totalDebits")

        total_credits = d.pop("totalCredits")

        sum_ = d.pop("sum")

        def _parse_next_cursor(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        next_cursor = _parse_next_cursor(d.pop("nextCursor"))


        trial_balance = cls(
            tenant_id=tenant_id,
            currency=currency,
            as_of_sequence=as_of_sequence,
            as_of_date=as_of_date,
            through_sequence=through_sequence,
            postings=postings,
            accounts=accounts,
            total_debits=total_debits,
            total_credits=total_credits,
            sum_=sum_,
            next_cursor=next_cursor,
        )

        return trial_balance

