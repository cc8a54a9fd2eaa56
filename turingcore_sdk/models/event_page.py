from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.event_envelope import EventEnvelope





T = TypeVar("T", bound="EventPage")



@_attrs_define
class EventPage:
    """ One page of events in ascending `sequence`. As published: `events`;
    `nextCursor` is an extension.

        Attributes:
            events (list[EventEnvelope]):
            next_cursor (int | None | Unset): The `after` value for the next page, or null on the last page.
     """

    events: list[EventEnvelope]
    next_cursor: int | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.event_envelope import EventEnvelope # noqa: PLC0415
        events = []
        for events_item_data in self.events:
            events_item = events_item_data.to_dict()
            events.append(events_item)



        next_cursor: int | None | Unset
        if isinstance(self.next_cursor, Unset):
            next_cursor = UNSET
        else:
            next_cursor = self.next_cursor


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "events": events,
        })
        if next_cursor is not UNSET:
            field_dict["nextCursor"] = next_cursor

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_envelope import EventEnvelope # noqa: PLC0415
        d = dict(src_dict)
        events = []
        _events = d.pop("events")
        for events_item_data in (_events):
            events_item = EventEnvelope.from_dict(events_item_data)



            events.append(events_item)


        def _parse_next_cursor(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        next_cursor = _parse_next_cursor(d.pop("nextCursor", UNSET))


        event_page = cls(
            events=events,
            next_cursor=next_cursor,
        )

        return event_page

