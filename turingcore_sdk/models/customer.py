from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.customer_status import CustomerStatus
from ..types import UNSET, Unset
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.address import Address
  from ..models.employment import Employment
  from ..models.person import Person
  from ..models.risk_profile import RiskProfile





T = TypeVar("T", bound="Customer")



@_attrs_define
class Customer:
    """ An extension (the reply of the extension query `GET
    /tenants/{tenantId}/customers/{customerId}`): a customer in full, the
    summary fields plus the details given at creation.

        Attributes:
            customer_id (str):
            external_ref (None | str):
            full_name (str):
            email (str):
            segment (None | str):
            kyc_status (None | str):
            created_at (datetime.datetime):
            person (Person): The customer's identity and contact details. The customer must be at
                least 18 on the command's date (422 `CUSTOMER_MUST_BE_ADULT`).
            address (Address): A postal address.
            employment (Employment | None):
            risk_profile (None | RiskProfile):
            tenant_id (str | Unset): A tenant's code, which is also its tenantId.
            first_name (str | Unset):
            last_name (str | Unset):
            mobile (str | Unset):
            status (CustomerStatus | Unset):
     """

    customer_id: str
    external_ref: None | str
    full_name: str
    email: str
    segment: None | str
    kyc_status: None | str
    created_at: datetime.datetime
    person: Person
    address: Address
    employment: Employment | None
    risk_profile: None | RiskProfile
    tenant_id: str | Unset = UNSET
    first_name: str | Unset = UNSET
    last_name: str | Unset = UNSET
    mobile: str | Unset = UNSET
    status: CustomerStatus | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.address import Address # noqa: PLC0415
        from ..models.employment import Employment # noqa: PLC0415
        from ..models.person import Person # noqa: PLC0415
        from ..models.risk_profile import RiskProfile # noqa: PLC0415
        customer_id = self.customer_id

        external_ref: None | str
        external_ref = self.external_ref

        full_name = self.full_name

        email = self.email

        segment: None | str
        segment = self.segment

        kyc_status: None | str
        kyc_status = self.kyc_status

        created_at = self.created_at.isoformat()

        person = self.person.to_dict()

        address = self.address.to_dict()

        employment: dict[str, Any] | None
        if isinstance(self.employment, Employment):
            employment = self.employment.to_dict()
        else:
            employment = self.employment

        risk_profile: dict[str, Any] | None
        if isinstance(self.risk_profile, RiskProfile):
            risk_profile = self.risk_profile.to_dict()
        else:
            risk_profile = self.risk_profile

        tenant_id = self.tenant_id

        first_name = self.first_name

        last_name = self.last_name

        mobile = self.mobile

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value



        field_dict: dict[str, Any] = {}

        field_dict.update({
            "customerId": customer_id,
            "externalRef": external_ref,
            "fullName": full_name,
            "email": email,
            "segment": segment,
            "kycStatus": kyc_status,
            "createdAt": created_at,
            "person": person,
            "address": address,
            "employment": employment,
            "riskProfile": risk_profile,
        })
        if tenant_id is not UNSET:
            field_dict["tenantId"] = tenant_id
        if first_name is not UNSET:
            field_dict["firstName"] = first_name
        if last_name is not UNSET:
            field_dict["lastName"] = last_name
        if mobile is not UNSET:
            field_dict["mobile"] = mobile
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.address import Address # noqa: PLC0415
        from ..models.employment import Employment # noqa: PLC0415
        from ..models.person import Person # noqa: PLC0415
        from ..models.risk_profile import RiskProfile # noqa: PLC0415
        d = dict(src_dict)
        customer_id = d.pop("customerId")

        def _parse_external_ref(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        external_ref = _parse_external_ref(d.pop("externalRef"))


        full_name = d.pop("fullName")

        email = d.pop("email")

        def _parse_segment(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        segment = _parse_segment(d.pop("segment"))


        def _parse_kyc_status(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        kyc_status = _parse_kyc_status(d.pop("kycStatus"))


        created_at = datetime.datetime.fromisoformat(d.pop("createdAt"))




        person = Person.from_dict(d.pop("person"))




        address = Address.from_dict(d.pop("address"))




        def _parse_employment(data: object) -> Employment | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                employment_type_0 = Employment.from_dict(data)



                return employment_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Employment | None, data)

        employment = _parse_employment(d.pop("employment"))


        def _parse_risk_profile(data: object) -> None | RiskProfile:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                risk_profile_type_0 = RiskProfile.from_dict(data)



                return risk_profile_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RiskProfile, data)

        risk_profile = _parse_risk_profile(d.pop("riskProfile"))


        tenant_id = d.pop("tenantId", UNSET)

        first_name = d.pop("firstName", UNSET)

        last_name = d.pop("lastName", UNSET)

        mobile = d.pop("mobile", UNSET)

        _status = d.pop("status", UNSET)
        status: CustomerStatus | Unset
        if isinstance(_status,  Unset):
            status = UNSET
        else:
            status = CustomerStatus(_status)




        customer = cls(
            customer_id=customer_id,
            external_ref=external_ref,
            full_name=full_name,
            email=email,
            segment=segment,
            kyc_status=kyc_status,
            created_at=created_at,
            person=person,
            address=address,
            employment=employment,
            risk_profile=risk_profile,
            tenant_id=tenant_id,
            first_name=first_name,
            last_name=last_name,
            mobile=mobile,
            status=status,
        )

        return customer

