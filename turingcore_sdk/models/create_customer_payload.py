from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.address import Address
  from ..models.employment import Employment
  from ..models.person import Person
  from ..models.risk_profile import RiskProfile





T = TypeVar("T", bound="CreateCustomerPayload")



@_attrs_define
class CreateCustomerPayload:
    """ Creates a customer. Email, mobile and externalRef are unique per tenant;
    emails compare case-insensitively. `address` is required.

        Attributes:
            person (Person): The customer's identity and contact details. The customer must be at
                least 18 on the command's date (422 `CUSTOMER_MUST_BE_ADULT`).
            address (Address): A postal address.
            external_ref (None | str | Unset): The caller's own reference, e.g. a member number.
            employment (Employment | None | Unset):
            risk_profile (None | RiskProfile | Unset):
     """

    person: Person
    address: Address
    external_ref: None | str | Unset = UNSET
    employment: Employment | None | Unset = UNSET
    risk_profile: None | RiskProfile | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.address import Address # noqa: PLC0415
        from ..models.employment import Employment # noqa: PLC0415
        from ..models.person import Person # noqa: PLC0415
        from ..models.risk_profile import RiskProfile # noqa: PLC0415
        person = self.person.to_dict()

        address = self.address.to_dict()

        external_ref: None | str | Unset
        if isinstance(self.external_ref, Unset):
            external_ref = UNSET
        else:
            external_ref = self.external_ref

        employment: dict[str, Any] | None | Unset
        if isinstance(self.employment, Unset):
            employment = UNSET
        elif isinstance(self.employment, Employment):
            employment = self.employment.to_dict()
        else:
            employment = self.employment

        risk_profile: dict[str, Any] | None | Unset
        if isinstance(self.risk_profile, Unset):
            risk_profile = UNSET
        elif isinstance(self.risk_profile, RiskProfile):
            risk_profile = self.risk_profile.to_dict()
        else:
            risk_profile = self.risk_profile


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "person": person,
            "address": address,
        })
        if external_ref is not UNSET:
            field_dict["externalRef"] = external_ref
        if employment is not UNSET:
            field_dict["employment"] = employment
        if risk_profile is not UNSET:
            field_dict["riskProfile"] = risk_profile

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.address import Address # noqa: PLC0415
        from ..models.employment import Employment # noqa: PLC0415
        from ..models.person import Person # noqa: PLC0415
        from ..models.risk_profile import RiskProfile # noqa: PLC0415
        d = dict(src_dict)
        person = Person.from_dict(d.pop("person"))




        address = Address.from_dict(d.pop("address"))




        def _parse_external_ref(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        external_ref = _parse_external_ref(d.pop("externalRef", UNSET))


        def _parse_employment(data: object) -> Employment | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                employment_type_0 = Employment.from_dict(data)



                return employment_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Employment | None | Unset, data)

        employment = _parse_employment(d.pop("employment", UNSET))


        def _parse_risk_profile(data: object) -> None | RiskProfile | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                risk_profile_type_0 = RiskProfile.from_dict(data)



                return risk_profile_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RiskProfile | Unset, data)

        risk_profile = _parse_risk_profile(d.pop("riskProfile", UNSET))


        create_customer_payload = cls(
            person=person,
            address=address,
            external_ref=external_ref,
            employment=employment,
            risk_profile=risk_profile,
        )

        return create_customer_payload

