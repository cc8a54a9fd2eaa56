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
  from ..models.open_account_payload import OpenAccountPayload





T = TypeVar("T", bound="OpenAccountCommand")



@_attrs_define
class OpenAccountCommand:
    """ Envelope of a `OpenAccount` command. Opens a member account for a customer.

        Attributes:
            command_id (UUID): Client-chosen UUID (any version) identifying the command.
            tenant_id (str): A tenant's code, which is also its tenantId.
            command_type (Literal['OpenAccount']):
            actor (Actor): Who issued the command.
            timestamp (datetime.datetime): When the client issued the command: an ISO 8601 / RFC 3339 date-time with an
                offset (`Z` allowed), e.g. `2025-01-01T00:00:00Z`.
            payload (OpenAccountPayload): Opens a member account. The customer and product must exist and be
                active, `currency` must be the tenant's base currency, and the initial
                deposit must respect the product's constraints (`minBalance`,
                `maxBalance`; for TERM_DEPOSIT also `minAmount`..`maxAmount`). Events:
                `AccountOpened`; `LoanFacilityCreated` for LOAN and CREDIT_CARD products;
                `FundsPosted` when `initialDeposit` > 0.

                LOAN and CREDIT_CARD accounts get a facility limit: `facilityLimit` if
                given, else the product's `constraints.maxAmount` (as published, a
                personal loan opens with no limit field); neither is 422
                `FACILITY_LIMIT_REQUIRED`, and a limit outside the product's
                `minAmount`..`maxAmount` (ends included) is 422
                `FACILITY_LIMIT_OUT_OF_RANGE`. Their balance then stays within
                `[-facilityLimit, 0]`.
            idempotency_key (None | str | Unset): Idempotency key, unique per tenant ("allows safe retries without double-
                effects"); when absent (or null) the commandId is the key.
     """

    command_id: UUID
    tenant_id: str
    command_type: Literal['OpenAccount']
    actor: Actor
    timestamp: datetime.datetime
    payload: OpenAccountPayload
    idempotency_key: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.actor import Actor # noqa: PLC0415
        from ..models.open_account_payload import OpenAccountPayload # noqa: PLC0415
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
        from ..models.open_account_payload import OpenAccountPayload # noqa: PLC0415
        d = dict(src_dict)
        command_id = UUID(d.pop("commandId"))




        tenant_id = d.pop("tenantId")

        command_type = cast(Literal['OpenAccount'] , d.pop("commandType"))
        if command_type != 'OpenAccount':
            raise ValueError(f"commandType must match const 'OpenAccount', got '{command_type}'")

        actor = Actor.from_dict(d.pop("actor"))




        timestamp = datetime.datetime.fromisoformat(d.pop("timestamp"))




        payload = OpenAccountPayload.from_dict(d.pop("payload"))




        def _parse_idempotency_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        idempotency_key = _parse_idempotency_key(d.pop("idempotencyKey", UNSET))


        open_account_command = cls(
            command_id=command_id,
            tenant_id=tenant_id,
            command_type=command_type,
            actor=actor,
            timestamp=timestamp,
            payload=payload,
            idempotency_key=idempotency_key,
        )

        return open_account_command

