from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="Address")



@_attrs_define
class Address:
    """ A postal address.

        Attributes:
            line1 (str):
            suburb (str):
            state (str):
            postcode (str):
            country (str): ISO 3166-1 alpha-2 country code.
            line2 (None | str | Unset):
     """

    line1: str
    suburb: str
    state: str
    postcode: str
    country: str
    line2: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        line1 = self.line1

        suburb = self.suburb

        state = self.state

        postcode = self.postcode

        country = self.country

        line2: None | str | Unset
        if isinstance(self.line2, Unset):
            line2 = UNSET
        else:
            line2 = self.line2


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "line1": line1,
            "suburb": suburb,
            "state": state,
            "postcode": postcode,
            "country": country,
        })
        if line2 is not UNSET:
            field_dict["line2"] = line2

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        line1 = d.pop("line1")

        suburb = d.pop("suburb")

        state = d.pop("state")

        postcode = d.pop("postcode")

        country = d.pop("country")

        def _parse_line2(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        line2 = _parse_line2(d.pop("line2", UNSET))


        address = cls(
            line1=line1,
            suburb=suburb,
            state=state,
            postcode=postcode,
            country=country,
            line2=line2,
        )

        return address

