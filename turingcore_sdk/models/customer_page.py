from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.customer_summary import CustomerSummary





T = TypeVar("T", bound="CustomerPage")



@_attrs_define
class CustomerPage:
    """ One page of customers (as published).

        Attributes:
            customers (list[CustomerSummary]):
            total (int): Number of customers in the tenant.
            limit (int):
            offset (int):
     """

    customers: list[CustomerSummary]
    total: int
    limit: int
    offset: int





    def to_dict(self) -> dict[str, Any]:
        from ..models.customer_summary import CustomerSummary # noqa: PLC0415
        customers = []
        for customers_item_data in self.customers:
            customers_item = customers_item_data.to_dict()
            customers.append(customers_item)



        total = self.total

        limit = self.limit

        offset = self.offset


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "customers": customers,
            "total": total,
            "limit": limit,
            "offset": offset,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.customer_summary import CustomerSummary # noqa: PLC0415
        d = dict(src_dict)
        customers = []
        _customers = d.pop("customers")
        for customers_item_data in (_customers):
            customers_item = CustomerSummary.from_dict(customers_item_data)



            customers.append(customers_item)


        total = d.pop("total")

        limit = d.pop("limit")

        offset = d.pop("offset")

        customer_page = cls(
            customers=customers,
            total=total,
            limit=limit,
            offset=offset,
        )

        return customer_page

