from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="ValidationIssue")



@_attrs_define
class ValidationIssue:
    """ One validation problem.

        Attributes:
            loc (list[int | str]): Path to the offending value, e.g. `[body, payload, legs, 0, amount]`.
            msg (str): Human-readable.
            type_ (str): Machine-readable kind of problem.
     """

    loc: list[int | str]
    msg: str
    type_: str





    def to_dict(self) -> dict[str, Any]:
        loc = []
        for loc_item_data in self.loc:
            loc_item: int | str
            loc_item = loc_item_data
            loc.append(loc_item)



        msg = self.msg

        type_ = self.type_


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "loc": loc,
            "msg": msg,
            "type": type_,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        loc = []
        _loc = d.pop("loc")
        for loc_item_data in (_loc):
            def _parse_loc_item(data: object) -> int | str:
                return cast(int | str, data)

            loc_item = _parse_loc_item(loc_item_data)

            loc.append(loc_item)


        msg = d.pop("msg")

        type_ = d.pop("type")

        validation_issue = cls(
            loc=loc,
            msg=msg,
            type_=type_,
        )

        return validation_issue

