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
  from ..models.actor import Actor
  from ..models.create_tenant_payload import CreateTenantPayload





T = TypeVar("T", bound="CreateTenantCommand")



@_attrs_define
class CreateTenantCommand:
    """ Envelope of a `CreateTenant` command. Creates a tenant (platform key only). The path `tenantId` is the new
    `tenantCode`.

        Attributes:
            command_id (UUID): Client-chosen UUID (any version) identifying the command.
            tenant_id (str): A tenant's code, which is also its tenantId.
            command_type (Literal['CreateTenant']):
            actor (Actor): Who issued the command.
            timestamp (datetime.datetime): When the client issued the command: an ISO 8601 / RFC 3339 date-time with an
                offset (`Z` allowed), e.g. `2025-01-01T00:00:00Z`.
            payload (CreateTenantPayload): Creates a tenant and its 11 GL accounts. `tenantCode` must equal the path
                and envelope `tenantId` (400 `TENANT_MISMATCH`).
            idempotency_key (None | str | Unset): Idempotency key, unique per tenant ("allows safe retries without double-
                effects"); when absent (or null) the commandId is the key.
     """

    command_id: UUID
    tenant_id: str
    command_type: Literal['CreateTenant']
    actor: Actor
    timestamp: datetime.datetime
    payload: CreateTenantPayload
    idempotency_key: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.actor import Actor # noqa: PLC0415
        from ..models.create_tenant_payload import CreateTenantPayload # noqa: PLC0415
        command_id = str(self.command_id)

        tenant_id = self.tenant_id

        command_type = self.command_type

        actor = self.actor.to_dict()

        timestamp = self.timestamp.isoformat()

        payload = self.payload.to_dict()

        idempotency_key: None | str | Unset
        if isinstance(self.idempotency_key, Unset):
            idempotency_key = UNSET
        else:
            idempotency_key = self.idempotency_key


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "commandId": command_id,
            "tenantId": tenant_id,
            "commandType": command_type,
            "actor": actor,
            "timestamp": timestamp,
            "payload": payload,
        })
        if idempotency_key is not UNSET:
            field_dict["idempotencyKey"] = idempotency_key

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.actor import Actor # noqa: PLC0415
        from ..models.create_tenant_payload import CreateTenantPayload # noqa: PLC0415
        d = dict(src_dict)
        command_id = UUID(d.pop("commandId"))




        tenant_id = d.pop("tenantId")

        command_type = cast(Literal['CreateTenant'] , d.pop("commandType"))
        if command_type != 'CreateTenant':
            raise ValueError(f"commandType must match const 'CreateTenant', got '{command_type}'")

        actor = Actor.from_dict(d.pop("actor"))




        timestamp = datetime.datetime.fromisoformat(d.pop("timestamp"))




        payload = CreateTenantPayload.from_dict(d.pop("payload"))




        def _parse_idempotency_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        idempotency_key = _parse_idempotency_key(d.pop("idempotencyKey", UNSET))


        create_tenant_command = cls(
            command_id=command_id,
            tenant_id=tenant_id,
            command_type=command_type,
            actor=actor,
            timestamp=timestamp,
            payload=payload,
            idempotency_key=idempotency_key,
        )

        return create_tenant_command

