from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.product_status import ProductStatus
from ..models.product_type import ProductType
from ..types import UNSET, Unset
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.credit_criteria import CreditCriteria
  from ..models.product_constraints import ProductConstraints
  from ..models.product_fees import ProductFees
  from ..models.product_interest import ProductInterest





T = TypeVar("T", bound="Product")



@_attrs_define
class Product:
    """ An extension (the reply of the extension query `GET
    /tenants/{tenantId}/products`): a product as stored, the last
    `UpsertProduct` payload with `active` defaulted, plus tenantId, status and
    timestamps. Optional configuration that was not given (or was null) is
    omitted, never null.

        Attributes:
            tenant_id (str): A tenant's code, which is also its tenantId.
            product_code (str): A product's code, unique per tenant.
            name (str):
            product_type (ProductType): The kind of product. LOAN and CREDIT_CARD accounts have a facility limit
                (the product's `constraints.maxAmount` unless `facilityLimit` is given).
            active (bool):
            interest (ProductInterest): Interest configuration. Rates are fractions; which ones apply depends on
                the product type. Every rate must be non-negative (422
                `RATES_MUST_BE_NON_NEGATIVE`).
            status (ProductStatus): `ACTIVE` when `active` is true, else `INACTIVE`.
            created_at (datetime.datetime):
            updated_at (datetime.datetime): Time of the latest `UpsertProduct`; equals `createdAt` until the product is
                updated.
            category (str | Unset):
            description (str | Unset):
            fees (ProductFees | Unset): Fee name to amount; zero allowed, at most 20 fees.
            constraints (ProductConstraints | Unset): A product's limits. All optional; money values are amounts >= 0 with
                at
                most 2 decimals. A constraint that does not apply to the product's type
                is kept and has no effect.

                | constraint | applies to | rule |
                |---|---|---|
                | `minBalance` | DEPOSIT, TERM_DEPOSIT | `initialDeposit` (default 0) must be >= it (422
                `INITIAL_DEPOSIT_BELOW_MINIMUM`); while `allowOverdraft` is not true, every later balance stays >= it (422
                `OVERDRAFT_LIMIT_EXCEEDED`). Default 0. |
                | `maxBalance` | DEPOSIT, TERM_DEPOSIT | no balance above it, the initial deposit included (422
                `MAX_BALANCE_EXCEEDED`). Absent or null: no maximum. |
                | `allowOverdraft` | DEPOSIT | when true, the floor is `-overdraftLimit` instead of `minBalance`. Default false.
                |
                | `overdraftLimit` | DEPOSIT | the overdraft allowed when `allowOverdraft` is true (default 0). `overdraftLimit
                > 0` while `allowOverdraft` is not true: 422 `CONSTRAINTS_MUST_BE_CONSISTENT`. |
                | `minAmount`, `maxAmount` | LOAN, CREDIT_CARD | the range of the account's facility limit (422
                `FACILITY_LIMIT_OUT_OF_RANGE`); `maxAmount` is the facility limit of an account opened without `facilityLimit`.
                |
                | `minAmount`, `maxAmount` | TERM_DEPOSIT | the range of the opening amount: `initialDeposit < minAmount` is 422
                `INITIAL_DEPOSIT_BELOW_MINIMUM`, `> maxAmount` is 422 `INITIAL_DEPOSIT_ABOVE_MAXIMUM`. |
                | `termMonthsDefault` | LOAN | the default term; must be one of `termMonthsOptions` when both are given (422
                `CONSTRAINTS_MUST_BE_CONSISTENT`). |
                | `termMonthsOptions` | LOAN | the terms offered: 1..20 distinct integers 1..600 (a repeated value is a 400). |
                | `termMonths` | TERM_DEPOSIT | the term. Kept and returned. |
                | `minAge`, `maxAge` | any | an extension of ours, integers 0..150; kept and returned. |

                Wherever a min and its max are both given, min < max, strictly
                (`minBalance`/`maxBalance`, `minAmount`/`maxAmount`, `minAge`/`maxAge`;
                422 `MIN_MUST_BE_BELOW_MAX`). `null` in any of them means absent.
            features (list[str] | Unset):
            credit_criteria (CreditCriteria | Unset): Free-form credit criteria, at most 20 properties, stored and returned
                as
                given. Names are identifiers; values are strings, numbers, booleans or
                lists of strings (e.g. eligible purposes).
     """

    tenant_id: str
    product_code: str
    name: str
    product_type: ProductType
    active: bool
    interest: ProductInterest
    status: ProductStatus
    created_at: datetime.datetime
    updated_at: datetime.datetime
    category: str | Unset = UNSET
    description: str | Unset = UNSET
    fees: ProductFees | Unset = UNSET
    constraints: ProductConstraints | Unset = UNSET
    features: list[str] | Unset = UNSET
    credit_criteria: CreditCriteria | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.credit_criteria import CreditCriteria # noqa: PLC0415
        from ..models.product_constraints import ProductConstraints # noqa: PLC0415
        from ..models.product_fees import ProductFees # noqa: PLC0415
        from ..models.product_interest import ProductInterest # noqa: PLC0415
        tenant_id = self.tenant_id

        product_code = self.product_code

        name = self.name

        product_type = self.product_type.value

        active = self.active

        interest = self.interest.to_dict()

        status = self.status.value

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        category = self.category

        description = self.description

        fees: dict[str, Any] | Unset = UNSET
        if not isinstance(self.fees, Unset):
            fees = self.fees.to_dict()

        constraints: dict[str, Any] | Unset = UNSET
        if not isinstance(self.constraints, Unset):
            constraints = self.constraints.to_dict()

        features: list[str] | Unset = UNSET
        if not isinstance(self.features, Unset):
            features = self.features



        credit_criteria: dict[str, Any] | Unset = UNSET
        if not isinstance(self.credit_criteria, Unset):
            credit_criteria = self.credit_criteria.to_dict()


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "tenantId": tenant_id,
            "productCode": product_code,
            "name": name,
            "productType": product_type,
            "active": active,
            "interest": interest,
            "status": status,
            "createdAt": created_at,
            "updatedAt": updated_at,
        })
        if category is not UNSET:
            field_dict["category"] = category
        if description is not UNSET:
            field_dict["description"] = description
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
        tenant_id = d.pop("tenantId")

        product_code = d.pop("productCode")

        name = d.pop("name")

        product_type = ProductType(d.pop("productType"))




        active = d.pop("active")

        interest = ProductInterest.from_dict(d.pop("interest"))




        status = ProductStatus(d.pop("status"))




        created_at = datetime.datetime.fromisoformat(d.pop("createdAt"))




        updated_at = datetime.datetime.fromisoformat(d.pop("updatedAt"))




        category = d.pop("category", UNSET)

        description = d.pop("description", UNSET)

        _fees = d.pop("fees", UNSET)
        fees: ProductFees | Unset
        if isinstance(_fees,  Unset):
            fees = UNSET
        else:
            fees = ProductFees.from_dict(_fees)




        _constraints = d.pop("constraints", UNSET)
        constraints: ProductConstraints | Unset
        if isinstance(_constraints,  Unset):
            constraints = UNSET
        else:
            constraints = ProductConstraints.from_dict(_constraints)




        features = cast(list[str], d.pop("features", UNSET))


        _credit_criteria = d.pop("creditCriteria", UNSET)
        credit_criteria: CreditCriteria | Unset
        if isinstance(_credit_criteria,  Unset):
            credit_criteria = UNSET
        else:
            credit_criteria = CreditCriteria.from_dict(_credit_criteria)




        product = cls(
            tenant_id=tenant_id,
            product_code=product_code,
            name=name,
            product_type=product_type,
            active=active,
            interest=interest,
            status=status,
            created_at=created_at,
            updated_at=updated_at,
            category=category,
            description=description,
            fees=fees,
            constraints=constraints,
            features=features,
            credit_criteria=credit_criteria,
        )

        return product

