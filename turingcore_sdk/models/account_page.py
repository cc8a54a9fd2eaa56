from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.account_summary import AccountSummary





T = TypeVar("T", bound="AccountPage")



@_attrs_define
class AccountPage:
    """ One page of accounts. As published: `accounts` and `total` (the number
    of accounts the filters select); `limit` and `offset` are extensions.

        Attributes:
            accounts (list[AccountSummary]):
            total (int): Number of accounts the filters select (`customerId`, `accountType`).
            limit (int | Unset):
            offset (int | Unset):
     """

    accounts: list[AccountSummary]
    total: int
    limit: int | Unset = UNSET
    offset: int | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.account_summary import AccountSummary # noqa: PLC0415
        accounts = []
        for accounts_item_data in self.accounts:
            accounts_item = accounts_item_data.to_dict()
            accounts.append(accounts_item)



        total = self.total

        limit = self.limit

        offset = self.offset


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "accounts": accounts,
            "total": total,
        })
        if limit is not UNSET:
            field_dict["limit"] = limit
        if offset is not UNSET:
            field_dict["offset"] = offset

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.account_summary import AccountSummary # noqa: PLC0415
        d = dict(src_dict)
        accounts = []
        _accounts = d.pop("accounts")
        for accounts_item_data in (_accounts):
            accounts_item = AccountSummary.from_dict(accounts_item_data)



            accounts.append(accounts_item)


        total = d.pop("total")

        limit = d.pop("limit", UNSET)

        offset = d.pop("offset", UNSET)

        account_page = cls(
            accounts=accounts,
            total=total,
            limit=limit,
            offset=offset,
        )

        return account_page

