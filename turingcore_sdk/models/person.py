from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="Person")



@_attrs_define
class Person:
    """ The customer's identity and contact details. The customer must be at
    least 18 on the command's date (422 `CUSTOMER_MUST_BE_ADULT`).

        Attributes:
            first_name (str):
            last_name (str):
            date_of_birth (datetime.date):
            email (str):
            mobile (str): E.164 number.
     """

    first_name: str
    last_name: str
    date_of_birth: datetime.date
    email: str
    mobile: str





    def to_dict(self) -> dict[str, Any]:
        first_name = self.first_name

        last_name = self.last_name

        date_of_birth = self.date_of_birth.isoformat()

        email = self.email

        mobile = self.mobile


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "firstName": first_name,
            "lastName": last_name,
            "dateOfBirth": date_of_birth,
            "email": email,
            "mobile": mobile,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        first_name = d.pop("firstName")

        last_name = d.pop("lastName")

        date_of_birth = datetime.date.fromisoformat(d.pop("dateOfBirth"))




        email = d.pop("email")

        mobile = d.pop("mobile")

        person = cls(
            first_name=first_name,
            last_name=last_name,
            date_of_birth=date_of_birth,
            email=email,
            mobile=mobile,
        )

        return person

