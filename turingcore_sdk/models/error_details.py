from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.validation_issue import ValidationIssue





T = TypeVar("T", bound="ErrorDetails")



@_attrs_define
class ErrorDetails:
    """ Context for the error. A `VALIDATION_ERROR` of the body lists every
    problem in `errors`; one for a query parameter the operation does not
    define names it in `parameter` and lists the defined ones in `allowed`.

        Attributes:
            errors (list[ValidationIssue] | Unset):
            parameter (str | Unset): The query parameter the operation does not define.
            allowed (list[str] | Unset): The query parameters the operation defines.
     """

    errors: list[ValidationIssue] | Unset = UNSET
    parameter: str | Unset = UNSET
    allowed: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.validation_issue import ValidationIssue # noqa: PLC0415
        errors: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = []
            for errors_item_data in self.errors:
                errors_item = errors_item_data.to_dict()
                errors.append(errors_item)



        parameter = self.parameter

        allowed: list[str] | Unset = UNSET
        if not isinstance(self.allowed, Unset):
            allowed = self.allowed




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if errors is not UNSET:
            field_dict["errors"] = errors
        if parameter is not UNSET:
            field_dict["parameter"] = parameter
        if allowed is not UNSET:
            field_dict["allowed"] = allowed

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.validation_issue import ValidationIssue # noqa: PLC0415
        d = dict(src_dict)
        _errors = d.pop("errors", UNSET)
        errors: list[ValidationIssue] | Unset = UNSET
        if _errors is not UNSET:
            errors = []
            for errors_item_data in _errors:
                errors_item = ValidationIssue.from_dict(errors_item_data)



                errors.append(errors_item)


        parameter = d.pop("parameter", UNSET)

        allowed = cast(list[str], d.pop("allowed", UNSET))


        error_details = cls(
            errors=errors,
            parameter=parameter,
            allowed=allowed,
        )


        error_details.additional_properties = d
        return error_details

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
