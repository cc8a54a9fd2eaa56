from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.product_type import ProductType
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.credit_criteria import CreditCriteria
  from ..models.product_constraints import ProductConstraints
  from ..models.product_fees import ProductFees
  from ..models.product_interest import ProductInterest





T = TypeVar("T", bound="UpsertProductPayload")



@_attrs_define
class UpsertProductPayload:
    """ Creates the product, or replaces the configuration of the product with
    this code (ProductCreated, or ProductUpdated when the code exists). Rates
    must be non-negative (422 `RATES_MUST_BE_NON_NEGATIVE`) and the
    constraints consistent (422 `MIN_MUST_BE_BELOW_MAX`,
    `CONSTRAINTS_MUST_BE_CONSISTENT`); see `ProductConstraints`.

        Attributes:
            product_code (str): A product's code, unique per tenant.
            name (str):
            product_type (ProductType): The kind of product. LOAN and CREDIT_CARD accounts have a facility limit
                (the product's `constraints.maxAmount` unless `facilityLimit` is given).
            interest (ProductInterest): Interest configuration. Rates are fractions; which ones apply depends on
                the product type. Every rate must be non-negative (422
                `RATES_MUST_BE_NON_NEGATIVE`).
            category (None | str | Unset):
            description (None | str | Unset): A free-text description of the product (an extension).
            active (bool | None | Unset): Inactive products cannot be opened (422 `PRODUCT_MUST_BE_ACTIVE`). An extension;
                absent or null means true. Default: True.
            fees (None | ProductFees | Unset):
            constraints (None | ProductConstraints | Unset):
            features (list[str] | None | Unset): Feature flags.
            credit_criteria (CreditCriteria | None | Unset):
     """

    product_code: str
    name: str
    product_type: ProductType
    interest: ProductInterest
    category: None | str | Unset = UNSET
    description: None | str | Unset = UNSET
    active: bool | None | Unset = True
    fees: None | ProductFees | Unset = UNSET
    constraints: None | ProductConstraints | Unset = UNSET
    features: list[str] | None | Unset = UNSET
    credit_criteria: CreditCriteria | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.credit_criteria import CreditCriteria # noqa: PLC0415
        from ..models.product_constraints import ProductConstraints # noqa: PLC0415
        from ..models.product_fees import ProductFees # noqa: PLC0415
        from ..models.product_interest import ProductInterest # noqa: PLC0415
        product_code = self.product_code

        name = self.name

        product_type = self.product_type.value

        interest = self.interest.to_dict()

        category: None | str | Unset
        if isinstance(self.category, Unset):
            category = UNSET
        else:
            category = self.category

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        active: bool | None | Unset
        if isinstance(self.active, Unset):
            active = UNSET
        else:
            active = self.active

        fees: dict[str, Any] | None | Unset
        if isinstance(self.fees, Unset):
            fees = UNSET
        elif isinstance(self.fees, ProductFees):
            fees = self.fees.to_dict()
        else:
            fees = self.fees

        constraints: dict[str, Any] | None | Unset
        if isinstance(self.constraints, Unset):
            constraints = UNSET
        elif isinstance(self.constraints, ProductConstraints):
            constraints = self.constraints.to_dict()
        else:
            constraints = self.constraints

        features: list[str] | None | Unset
        if isinstance(self.features, Unset):
            features = UNSET
        elif isinstance(self.features, list):
            features = self.features


        else:
            features = self.features

        credit_criteria: dict[str, Any] | None | Unset
        if isinstance(self.credit_criteria, Unset):
            credit_criteria = UNSET
        elif isinstance(self.credit_criteria, CreditCriteria):
            credit_criteria = self.credit_criteria.to_dict()
        else:
            credit_criteria = self.credit_criteria


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "productCode": product_code,
            "name": name,
            "productType": product_type,
            "interest": interest,
        })
        if category is not UNSET:
            field_dict["category"] = category
        if description is not UNSET:
            field_dict["description"] = description
        if active is not UNSET:
            field_dict["active"] = active
        if fees is not UNSET:
            field_dict["fees"] = fees
        if constraints is not UNSET:
            field_dict["constraints"] = constraints
        if features is not UNSET:
            field_dict["features"] = features
        if credit_criteria is not UNSET:
            field_dict["creditCriteria"] = credit_criteria

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.credit_criteria import CreditCriteria # noqa: PLC0415
        from ..models.product_constraints import ProductConstraints # noqa: PLC0415
        from ..models.product_fees import ProductFees # noqa: PLC0415
        from ..models.product_interest import ProductInterest # noqa: PLC0415
        d = dict(src_dict)
        product_code = d.pop("productCode")

        name = d.pop("name")

        product_type = ProductType(d.pop("productType"))




        interest = ProductInterest.from_dict(d.pop("interest"))




        def _parse_category(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        category = _parse_category(d.pop("category", UNSET))


        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))


        def _parse_active(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        active = _parse_active(d.pop("active", UNSET))


        def _parse_fees(data: object) -> None | ProductFees | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                fees_type_0 = ProductFees.from_dict(data)



                return fees_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ProductFees | Unset, data)

        fees = _parse_fees(d.pop("fees", UNSET))


        def _parse_constraints(data: object) -> None | ProductConstraints | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                constraints_type_0 = ProductConstraints.from_dict(data)



                return constraints_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ProductConstraints | Unset, data)

        constraints = _parse_constraints(d.pop("constraints", UNSET))


        def _parse_features(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                features_type_0 = cast(list[str], data)

                return features_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        features = _parse_features(d.pop("features", UNSET))


        def _parse_credit_criteria(data: object) -> CreditCriteria | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                credit_criteria_type_0 = CreditCriteria.from_dict(data)



                return credit_criteria_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CreditCriteria | None | Unset, data)

        credit_criteria = _parse_credit_criteria(d.pop("creditCriteria", UNSET))


        upsert_product_payload = cls(
            product_code=product_code,
            name=name,
            product_type=product_type,
            interest=interest,
            category=category,
            description=description,
            active=active,
            fees=fees,
            constraints=constraints,
            features=features,
            credit_criteria=credit_criteria,
        )

        return upsert_product_payload

