from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.customer_summary_status import CustomerSummaryStatus
from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="CustomerSummary")



@_attrs_define
class CustomerSummary:
    """ A customer in a list. As published: `customerId, externalRef, fullName,
    email, segment, kycStatus, createdAt` (`fullName` is "first last";
    `segment` and `kycStatus` come from the `riskProfile`, null when not
    given). `tenantId`, `firstName`, `lastName`, `mobile` and `status` are
    extensions.

        Attributes:
            customer_id (str):
            external_ref (None | str):
            full_name (str): The person's first and last name, separated by one space.
            email (str):
            segment (None | str): The `riskProfile.segment` given at creation, or null.
            kyc_status (None | str): The `riskProfile.kycStatus` given at creation, or null.
            created_at (datetime.datetime):
            tenant_id (str | Unset): A tenant's code, which is also its tenantId.
            first_name (str | Unset):
            last_name (str | Unset):
            mobile (str | Unset):
            status (CustomerSummaryStatus | Unset):
     """

    customer_id: str
    external_ref: None | str
    full_name: str
    email: str
    segment: None | str
    kyc_status: None | str
    created_at: datetime.datetime
    tenant_id: str | Unset = UNSET
    first_name: str | Unset = UNSET
    last_name: str | Unset = UNSET
    mobile: str | Unset = UNSET
    status: CustomerSummaryStatus | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
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




        tenant_id = d.pop("tenantId", UNSET)

        first_name = d.pop("firstName", UNSET)

        last_name = d.pop("lastName", UNSET)

        mobile = d.pop("mobile", UNSET)

        _status = d.pop("status", UNSET)
        status: CustomerSummaryStatus | Unset
        if isinstance(_status,  Unset):
            status = UNSET
        else:
            status = CustomerSummaryStatus(_status)




        customer_summary = cls(
            customer_id=customer_id,
            external_ref=external_ref,
            full_name=full_name,
            email=email,
            segment=segment,
            kyc_status=kyc_status,
            created_at=created_at,
            tenant_id=tenant_id,
            first_name=first_name,
            last_name=last_name,
            mobile=mobile,
            status=status,
        )

        return customer_summary

