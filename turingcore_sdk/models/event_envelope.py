from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.event_type import EventType
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.event_envelope_payload import EventEnvelopePayload





T = TypeVar("T", bound="EventEnvelope")



@_attrs_define
class EventEnvelope:
    """ One event of the tenant's stream. As published: `eventId, eventType,
    tenantId, entityId, payload, occurredAt, causationId` (the command id).
    `sequence`, `correlationId`, `prevHash` and `hash` are extensions (the
    hash chain): `hash = lowercase_hex(SHA-256(UTF-8(prevHash) || JCS(this
    object without "hash")))`; the first event's `prevHash` is 64 zeros.

    | eventType | entityId | payload |
    |---|---|---|
    | `TenantCreated` | tenantId | the CreateTenant payload |
    | `AccountOpened` | accountId | `{accountId, accountType, customerId, productCode, productType, currency,
    accountAlias, accountPurpose}`, null where absent (GL accounts at CreateTenant) |
    | `ProductCreated`, `ProductUpdated` | productCode | the product as stored (the UpsertProduct payload with defaults)
    |
    | `CustomerCreated` | customerId | `{customerId, externalRef, person, address, employment, riskProfile}` |
    | `FundsPosted` | accountId | `{entryId, accountId, currency, amount, narrative, legs: [{accountId, direction,
    amount}] x2}` (member DEBIT, `GL_INITIAL_DEPOSIT_CLEARING` CREDIT) |
    | `LoanFacilityCreated` | accountId | `{accountId, facilityLimit, currency}` |
    | `EntryPosted` | entryId | `{entryId, bookingDate, valueDate, currency, legs: [{accountId, direction, amount}],
    narrative, tags, metadata}`; `tags` and `metadata` are objects, `{}` when absent |
    | `AccountBalanceUpdated` | accountId | `{accountId, entryId, change, balance}`, `change` signed |

    Order per command: CreateTenant: `TenantCreated`, then `AccountOpened` for
    the 11 GL accounts. OpenAccount: `AccountOpened`, `LoanFacilityCreated`
    (LOAN, CREDIT_CARD), `FundsPosted` (initialDeposit > 0). PostEntry:
    `EntryPosted`, then one `AccountBalanceUpdated` per distinct account in
    first-leg order.

        Attributes:
            event_id (UUID):
            event_type (EventType): The type of an event (all nine are published).
            tenant_id (str): A tenant's code, which is also its tenantId.
            entity_id (str): The id of the entity the event is about (see the table).
            payload (EventEnvelopePayload): The event's data (see the table).
            occurred_at (datetime.datetime): The server's accept time of the command, UTC with `Z` and microseconds.
            causation_id (UUID): The commandId of the command that caused the event.
            sequence (int | Unset): Position in the tenant's stream, from 1, without gaps.
            correlation_id (str | Unset): The command's correlation id (`X-Correlation-Id`, else the commandId).
            prev_hash (str | Unset): A SHA-256 digest, 64 lowercase hex digits.
            hash_ (str | Unset): A SHA-256 digest, 64 lowercase hex digits.
     """

    event_id: UUID
    event_type: EventType
    tenant_id: str
    entity_id: str
    payload: EventEnvelopePayload
    occurred_at: datetime.datetime
    causation_id: UUID
    sequence: int | Unset = UNSET
    correlation_id: str | Unset = UNSET
    prev_hash: str | Unset = UNSET
    hash_: str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.event_envelope_payload import EventEnvelopePayload # noqa: PLC0415
        event_id = str(self.event_id)

        event_type = self.event_type.value

        tenant_id = self.tenant_id

        entity_id = self.entity_id

        payload = self.payload.to_dict()

        occurred_at = self.occurred_at.isoformat()

        causation_id = str(self.causation_id)

        sequence = self.sequence

        correlation_id = self.correlation_id

        prev_hash = self.prev_hash

        hash_ = self.hash_


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "eventId": event_id,
            "eventType": event_type,
            "tenantId": tenant_id,
            "entityId": entity_id,
            "payload": payload,
            "occurredAt": occurred_at,
            "causationId": causation_id,
        })
        if sequence is not UNSET:
            field_dict["sequence"] = sequence
        if correlation_id is not UNSET:
            field_dict["correlationId"] = correlation_id
        if prev_hash is not UNSET:
            field_dict["prevHash"] = prev_hash
        if hash_ is not UNSET:
            field_dict["hash"] = hash_

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_envelope_payload import EventEnvelopePayload # noqa: PLC0415
        d = dict(src_dict)
        event_id = UUID(d.pop("eventId"))




        event_type = EventType(d.pop("eventType"))




        tenant_id = d.pop("tenantId")

        entity_id = d.pop("entityId")

        payload = EventEnvelopePayload.from_dict(d.pop("payload"))




        occurred_at = datetime.datetime.fromisoformat(d.pop("occurredAt"))




        causation_id = UUID(d.pop("causationId"))




        sequence = d.pop("sequence", UNSET)

        correlation_id = d.pop("correlationId", UNSET)

        prev_hash = d.pop("prevHash", UNSET)

        hash_ = d.pop("hash", UNSET)

        event_envelope = cls(
            event_id=event_id,
            event_type=event_type,
            tenant_id=tenant_id,
            entity_id=entity_id,
            payload=payload,
            occurred_at=occurred_at,
            causation_id=causation_id,
            sequence=sequence,
            correlation_id=correlation_id,
            prev_hash=prev_hash,
            hash_=hash_,
        )

        return event_envelope

