from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="CreateTenantPayload")



@_attrs_define
class CreateTenantPayload:
    """ Creates a tenant and its 11 GL accounts. `tenantCode` must equal the path
    and envelope `tenantId` (400 `TENANT_MISMATCH`).

        Attributes:
            tenant_code (str): A tenant's code, which is also its tenantId.
            display_name (str):
            region (str): ISO 3166-1 alpha-2 country code.
            base_currency (str): ISO 4217 alphabetic code. Whether it is supported is an invariant (422).
            time_zone (str): IANA time zone name; an unknown zone is a 422 `TIME_ZONE_MUST_BE_VALID`.
            regulatory_jurisdiction (None | str | Unset):
            business_type (None | str | Unset):
     """

    tenant_code: str
    display_name: str
    region: str
    base_currency: str
    time_zone: str
    regulatory_jurisdiction: None | str | Unset = UNSET
    business_type: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        tenant_code = self.tenant_code

        display_name = self.display_name

        region = self.region

        base_currency = self.base_currency

        time_zone = self.time_zone

        regulatory_jurisdiction: None | str | Unset
        if isinstance(self.regulatory_jurisdiction, Unset):
            regulatory_jurisdiction = UNSET
        else:
            regulatory_jurisdiction = self.regulatory_jurisdiction

        business_type: None | str | Unset
        if isinstance(self.business_type, Unset):
            business_type = UNSET
        else:
            business_type = self.business_type


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "tenantCode": tenant_code,
            "displayName": display_name,
            "region": region,
            "baseCurrency": base_currency,
            "timeZone": time_zone,
        })
        if regulatory_jurisdiction is not UNSET:
            field_dict["regulatoryJurisdiction"] = regulatory_jurisdiction
        if business_type is not UNSET:
            field_dict["businessType"] = business_type

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        tenant_code = d.pop("tenantCode")

        display_name = d.pop("displayName")

        region = d.pop("region")

        base_currency = d.pop("baseCurrency")

        time_zone = d.pop("timeZone")

        def _parse_regulatory_jurisdiction(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        regulatory_jurisdiction = _parse_regulatory_jurisdiction(d.pop("regulatoryJurisdiction", UNSET))


        def _parse_business_type(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        business_type = _parse_business_type(d.pop("businessType", UNSET))


        create_tenant_payload = cls(
            tenant_code=tenant_code,
            display_name=display_name,
            region=region,
            base_currency=base_currency,
            time_zone=time_zone,
            regulatory_jurisdiction=regulatory_jurisdiction,
            business_type=business_type,
        )

        return create_tenant_payload

