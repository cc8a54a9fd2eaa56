from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.event_envelope import EventEnvelope





T = TypeVar("T", bound="AccountBalanceAsOf")



@_attrs_define
class AccountBalanceAsOf:
    """ An account's balance and events as of a point, as the log sums them (an extension).

        Attributes:
            tenant_id (str): A tenant's code, which is also its tenantId.
            account_id (str):
            currency (str): ISO 4217 alphabetic code. Whether it is supported is an invariant (422).
            as_of_sequence (int | None):
            as_of_date (datetime.date | None):
            through_sequence (int): The last sequence considered (`asOfSequence` capped at the chain head, or the head).
            opened (bool): Whether the account had been opened by that point.
            balance (float): The signed sum (DEBIT +, CREDIT -) of the account's legs counted, in major units.
            event_count (int): The account's events counted at that point.
            last_event_sequence (int | None): The sequence of the last of them, or null when there is none.
            events (list[EventEnvelope]): A page of those events, oldest first (after `after`, at most `limit`).
            next_cursor (int | None): The `after` value for the next page, or null on the last page.
     """

    tenant_id: str
    account_id: str
    currency: str
    as_of_sequence: int | None
    as_of_date: datetime.date | None
    through_sequence: int
    opened: bool
    balance: float
    event_count: int
    last_event_sequence: int | None
    events: list[EventEnvelope]
    next_cursor: int | None





    def to_dict(self) -> dict[str, Any]:
        from ..models.event_envelope import EventEnvelope # noqa: PLC0415
        tenant_id = self.tenant_id

        account_id = self.account_id

        currency = self.currency

        as_of_sequence: int | None
        as_of_sequence = self.as_of_sequence

        as_of_date: None | str
        if isinstance(self.as_of_date, datetime.date):
            as_of_date = self.as_of_date.isoformat()
        else:
            as_of_date = self.as_of_date

        through_sequence = self.through_sequence

        opened = self.opened

        balance = self.balance

        event_count = self.event_count

        last_event_sequence: int | None
        last_event_sequence = self.last_event_sequence

        events = []
        for events_item_data in self.events:
            events_item = events_item_data.to_dict()
            events.append(events_item)



        next_cursor: int | None
        next_cursor = self.next_cursor


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "tenantId": tenant_id,
            "accountId": account_id,
            "currency": currency,
            "asOfSequence": as_of_sequence,
            "asOfDate": as_of_date,
            "throughSequence": through_sequence,
            "opened": opened,
            "balance": balance,
            "eventCount": event_count,
            "lastEventSequence": last_event_sequence,
            "events": events,
            "nextCursor": next_cursor,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_envelope import EventEnvelope # noqa: PLC0415
        d = dict(src_dict)
        tenant_id = d.pop("tenantId")

        account_id = d.pop("accountId")

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

        opened = d.pop("opened")

        balance = d.pop("balance")

        event_count = d.pop("eventCount")

        def _parse_last_event_sequence(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        last_event_sequence = _parse_last_event_sequence(d.pop("lastEventSequence"))


        events = []
        _events = d.pop("events")
        for events_item_data in (_events):
            events_item = EventEnvelope.from_dict(events_item_data)



            events.append(events_item)


        def _parse_next_cursor(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        next_cursor = _parse_next_cursor(d.pop("nextCursor"))


        account_balance_as_of = cls(
            tenant_id=tenant_id,
            account_id=account_id,
            currency=currency,
            as_of_sequence=as_of_sequence,
            as_of_date=as_of_date,
            through_sequence=through_sequence,
            opened=opened,
            balance=balance,
            event_count=event_count,
            last_event_sequence=last_event_sequence,
            events=events,
            next_cursor=next_cursor,
        )

        return account_balance_as_of

