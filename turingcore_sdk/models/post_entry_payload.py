from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.entry_leg import EntryLeg
  from ..models.entry_metadata import EntryMetadata
  from ..models.entry_tags import EntryTags





T = TypeVar("T", bound="PostEntryPayload")



@_attrs_define
class PostEntryPayload:
    """ Posts a balanced journal entry. All legs are in the entry's currency,
    debits equal credits, every account exists in this tenant and is active,
    `valueDate >= bookingDate`, and the posting must not take an account out
    of its product's constraints (e.g. overdraft limits); each is a 422 when
    broken. `tags` and `metadata` are kept on the `EntryPosted` event.

        Attributes:
            booking_date (datetime.date):
            value_date (datetime.date):
            currency (str): ISO 4217 alphabetic code. Whether it is supported is an invariant (422).
            legs (list[EntryLeg]):
            narrative (str):
            tags (EntryTags | None | Unset):
            metadata (EntryMetadata | None | Unset):
     """

    booking_date: datetime.date
    value_date: datetime.date
    currency: str
    legs: list[EntryLeg]
    narrative: str
    tags: EntryTags | None | Unset = UNSET
    metadata: EntryMetadata | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.entry_leg import EntryLeg # noqa: PLC0415
        from ..models.entry_metadata import EntryMetadata # noqa: PLC0415
        from ..models.entry_tags import EntryTags # noqa: PLC0415
        booking_date = self.booking_date.isoformat()

        value_date = self.value_date.isoformat()

        currency = self.currency

        legs = []
        for legs_item_data in self.legs:
            legs_item = legs_item_data.to_dict()
            legs.append(legs_item)



        narrative = self.narrative

        tags: dict[str, Any] | None | Unset
        if isinstance(self.tags, Unset):
            tags = UNSET
        elif isinstance(self.tags, EntryTags):
            tags = self.tags.to_dict()
        else:
            tags = self.tags

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, EntryMetadata):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "bookingDate": booking_date,
            "valueDate": value_date,
            "currency": currency,
            "legs": legs,
            "narrative": narrative,
        })
        if tags is not UNSET:
            field_dict["tags"] = tags
        if metadata is not UNSET:
            field_dict["metadata"] = metadata

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.entry_leg import EntryLeg # noqa: PLC0415
        from ..models.entry_metadata import EntryMetadata # noqa: PLC0415
        from ..models.entry_tags import EntryTags # noqa: PLC0415
        d = dict(src_dict)
        booking_date = datetime.date.fromisoformat(d.pop("bookingDate"))




        value_date = datetime.date.fromisoformat(d.pop("valueDate"))




        currency = d.pop("currency")

        legs = []
        _legs = d.pop("legs")
        for legs_item_data in (_legs):
            legs_item = EntryLeg.from_dict(legs_item_data)



            legs.append(legs_item)


        narrative = d.pop("narrative")

        def _parse_tags(data: object) -> EntryTags | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                tags_type_0 = EntryTags.from_dict(data)



                return tags_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EntryTags | None | Unset, data)

        tags = _parse_tags(d.pop("tags", UNSET))


        def _parse_metadata(data: object) -> EntryMetadata | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = EntryMetadata.from_dict(data)



                return metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EntryMetadata | None | Unset, data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))


        post_entry_payload = cls(
            booking_date=booking_date,
            value_date=value_date,
            currency=currency,
            legs=legs,
            narrative=narrative,
            tags=tags,
            metadata=metadata,
        )

        return post_entry_payload

