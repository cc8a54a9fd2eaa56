from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.employment_status import EmploymentStatus
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="Employment")



@_attrs_define
class Employment:
    """ The customer's employment.

        Attributes:
            status (EmploymentStatus):
            employer (None | str | Unset):
            occupation (None | str | Unset):
            annual_income (float | None | Unset):
     """

    status: EmploymentStatus
    employer: None | str | Unset = UNSET
    occupation: None | str | Unset = UNSET
    annual_income: float | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        employer: None | str | Unset
        if isinstance(self.employer, Unset):
            employer = UNSET
        else:
            employer = self.employer

        occupation: None | str | Unset
        if isinstance(self.occupation, Unset):
            occupation = UNSET
        else:
            occupation = self.occupation

        annual_income: float | None | Unset
        if isinstance(self.annual_income, Unset):
            annual_income = UNSET
        else:
            annual_income = self.annual_income


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "status": status,
        })
        if employer is not UNSET:
            field_dict["employer"] = employer
        if occupation is not UNSET:
            field_dict["occupation"] = occupation
        if annual_income is not UNSET:
            field_dict["annualIncome"] = annual_income

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = EmploymentStatus(d.pop("status"))




        def _parse_employer(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        employer = _parse_employer(d.pop("employer", UNSET))


        def _parse_occupation(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        occupation = _parse_occupation(d.pop("occupation", UNSET))


        def _parse_annual_income(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        annual_income = _parse_annual_income(d.pop("annualIncome", UNSET))


        employment = cls(
            status=status,
            employer=employer,
            occupation=occupation,
            annual_income=annual_income,
        )

        return employment

