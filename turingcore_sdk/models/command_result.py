from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="CommandResult")



@_attrs_define
class CommandResult:
    """ An extension: the ids the command made, the same as at the top level of
    the reply: `{tenantId}` (CreateTenant), `{tenantId, productCode}`
    (UpsertProduct), `{tenantId, customerId}` (CreateCustomer), `{tenantId,
    accountId}` (OpenAccount), `{tenantId, entryId}` (PostEntry).

        Attributes:
            tenant_id (str): A tenant's code, which is also its tenantId.
            product_code (str | Unset): A product's code, unique per tenant.
            customer_id (str | Unset):
            account_id (str | Unset):
            entry_id (str | Unset):
     """

    tenant_id: str
    product_code: str | Unset = UNSET
    customer_id: str | Unset = UNSET
    account_id: str | Unset = UNSET
    entry_id: str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        tenant_id = self.tenant_id

        product_code = self.product_code

        customer_id = self.customer_id

        account_id = self.account_id

        entry_id = self.entry_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "tenantId": tenant_id,
        })
        if product_code is not UNSET:
            field_dict["productCode"] = product_code
        if customer_id is not UNSET:
            field_dict["customerId"] = customer_id
        if account_id is not UNSET:
            field_dict["accountId"] = account_id
        if entry_id is not UNSET:
            field_dict["entryId"] = entry_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        tenant_id = d.pop("tenantId")

        product_code = d.pop("productCode", UNSET)

        customer_id = d.pop("customerId", UNSET)

        account_id = d.pop("accountId", UNSET)

        entry_id = d.pop("entryId", UNSET)

        command_result = cls(
            tenant_id=tenant_id,
            product_code=product_code,
            customer_id=customer_id,
            account_id=account_id,
            entry_id=entry_id,
        )

        return command_result

