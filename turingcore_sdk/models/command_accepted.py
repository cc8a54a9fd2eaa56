from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from typing import Literal, cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.command_result import CommandResult





T = TypeVar("T", bound="CommandAccepted")



@_attrs_define
class CommandAccepted:
    """ The reply to an accepted command, replayed unchanged for an idempotent
    retry. As published: `commandId`, `status`, `correlationId`,
    `acceptedAt`, and the id of what the command made at the top level, where
    the published client reads it (`reply["customerId"]`,
    `reply["accountId"]`): CreateTenant `tenantId`; UpsertProduct `tenantId`,
    `productCode`; CreateCustomer `tenantId`, `customerId`; OpenAccount
    `tenantId`, `accountId`; PostEntry `tenantId`, `entryId`. `result` (the
    same ids) and `eventIds` are extensions.

        Attributes:
            command_id (UUID): The commandId of the command that was first accepted with this idempotency key.
            status (Literal['ACCEPTED']):
            correlation_id (str): The `X-Correlation-Id` header, or the commandId.
            accepted_at (datetime.datetime): Server time of acceptance (UTC); equals the events' `occurredAt`.
            tenant_id (str | Unset): A tenant's code, which is also its tenantId.
            product_code (str | Unset): A product's code, unique per tenant.
            customer_id (str | Unset): CreateCustomer, the new customer's id.
            account_id (str | Unset): OpenAccount, the new account's id.
            entry_id (str | Unset): PostEntry, the new entry's id.
            result (CommandResult | Unset): An extension: the ids the command made, the same as at the top level of
                the reply: `{tenantId}` (CreateTenant), `{tenantId, productCode}`
                (UpsertProduct), `{tenantId, customerId}` (CreateCustomer), `{tenantId,
                accountId}` (OpenAccount), `{tenantId, entryId}` (PostEntry).
            event_ids (list[UUID] | Unset): The ids of the events the command appended, in sequence order (an extension).
     """

    command_id: UUID
    status: Literal['ACCEPTED']
    correlation_id: str
    accepted_at: datetime.datetime
    tenant_id: str | Unset = UNSET
    product_code: str | Unset = UNSET
    customer_id: str | Unset = UNSET
    account_id: str | Unset = UNSET
    entry_id: str | Unset = UNSET
    result: CommandResult | Unset = UNSET
    event_ids: list[UUID] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.command_result import CommandResult # noqa: PLC0415
        command_id = str(self.command_id)

        status = self.status

        correlation_id = self.correlation_id

        accepted_at = self.accepted_at.isoformat()

        tenant_id = self.tenant_id

        product_code = self.product_code

        customer_id = self.customer_id

        account_id = self.account_id

        entry_id = self.entry_id

        result: dict[str, Any] | Unset = UNSET
        if not isinstance(self.result, Unset):
            result = self.result.to_dict()

        event_ids: list[str] | Unset = UNSET
        if not isinstance(self.event_ids, Unset):
            event_ids = []
            for event_ids_item_data in self.event_ids:
                event_ids_item = str(event_ids_item_data)
                event_ids.append(event_ids_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "commandId": command_id,
            "status": status,
            "correlationId": correlation_id,
            "acceptedAt": accepted_at,
        })
        if tenant_id is not UNSET:
            field_dict["tenantId"] = tenant_id
        if product_code is not UNSET:
            field_dict["productCode"] = product_code
        if customer_id is not UNSET:
            field_dict["customerId"] = customer_id
        if account_id is not UNSET:
            field_dict["accountId"] = account_id
        if entry_id is not UNSET:
            field_dict["entryId"] = entry_id
        if result is not UNSET:
            field_dict["result"] = result
        if event_ids is not UNSET:
            field_dict["eventIds"] = event_ids

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.command_result import CommandResult # noqa: PLC0415
        d = dict(src_dict)
        command_id = UUID(d.pop("commandId"))




        status = cast(Literal['ACCEPTED'] , d.pop("status"))
        if status != 'ACCEPTED':
            raise ValueError(f"status must match const 'ACCEPTED', got '{status}'")

        correlation_id = d.pop("correlationId")

        accepted_at = datetime.datetime.fromisoformat(d.pop("acceptedAt"))




        tenant_id = d.pop("tenantId", UNSET)

        product_code = d.pop("productCode", UNSET)

        customer_id = d.pop("customerId", UNSET)

        account_id = d.pop("accountId", UNSET)

        entry_id = d.pop("entryId", UNSET)

        _result = d.pop("result", UNSET)
        result: CommandResult | Unset
        if isinstance(_result,  Unset):
            result = UNSET
        else:
            result = CommandResult.from_dict(_result)




        _event_ids = d.pop("eventIds", UNSET)
        event_ids: list[UUID] | Unset = UNSET
        if _event_ids is not UNSET:
            event_ids = []
            for event_ids_item_data in _event_ids:
                event_ids_item = UUID(event_ids_item_data)



                event_ids.append(event_ids_item)


        command_accepted = cls(
            command_id=command_id,
            status=status,
            correlation_id=correlation_id,
            accepted_at=accepted_at,
            tenant_id=tenant_id,
            product_code=product_code,
            customer_id=customer_id,
            account_id=account_id,
            entry_id=entry_id,
            result=result,
            event_ids=event_ids,
        )

        return command_accepted

