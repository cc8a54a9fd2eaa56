from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.invariant_violation_invariant import InvariantViolationInvariant
from ..types import UNSET, Unset
from typing import cast
from typing import Literal, cast
from uuid import UUID

if TYPE_CHECKING:
  from ..models.invariant_violation_details import InvariantViolationDetails





T = TypeVar("T", bound="InvariantViolation")



@_attrs_define
class InvariantViolation:
    """ A 422: the command is well formed but breaks a business invariant, and
    nothing was written. Invariants are checked in the order below; the first
    one broken is reported.

    | invariant | command | broken when |
    |---|---|---|
    | `IDEMPOTENCY_KEY_REUSED` | any | the idempotency key was accepted before with another `commandType` or `payload` |
    | `TENANT_CODE_UNIQUE` | CreateTenant | the tenant code already exists |
    | `CURRENCY_MUST_BE_SUPPORTED` | CreateTenant | `baseCurrency` is not a currency the service supports |
    | `TIME_ZONE_MUST_BE_VALID` | CreateTenant | `timeZone` is not an IANA time zone |
    | `RATES_MUST_BE_NON_NEGATIVE` | UpsertProduct | an interest rate is negative |
    | `MIN_MUST_BE_BELOW_MAX` | UpsertProduct | a min is not strictly below its max (`minBalance`/`maxBalance`,
    `minAmount`/`maxAmount`, `minAge`/`maxAge`) |
    | `CONSTRAINTS_MUST_BE_CONSISTENT` | UpsertProduct | `overdraftLimit` > 0 while `allowOverdraft` is not true, or
    `termMonthsDefault` is not one of `termMonthsOptions` |
    | `CUSTOMER_MUST_BE_ADULT` | CreateCustomer | the person is under 18 on the command's date |
    | `CUSTOMER_EMAIL_UNIQUE` | CreateCustomer | another customer of the tenant has the email (case-insensitive) |
    | `CUSTOMER_MOBILE_UNIQUE` | CreateCustomer | another customer of the tenant has the mobile |
    | `CUSTOMER_EXTERNAL_REF_UNIQUE` | CreateCustomer | another customer of the tenant has the externalRef |
    | `CUSTOMER_MUST_EXIST` | OpenAccount | the customer does not exist in this tenant or is not active |
    | `PRODUCT_MUST_EXIST` | OpenAccount | the product does not exist in this tenant |
    | `PRODUCT_MUST_BE_ACTIVE` | OpenAccount | the product is inactive |
    | `ACCOUNT_CURRENCY_MUST_MATCH_TENANT` | OpenAccount | `currency` is not the tenant's base currency |
    | `FACILITY_LIMIT_REQUIRED` | OpenAccount | a LOAN or CREDIT_CARD product with no `facilityLimit` and no
    `constraints.maxAmount` |
    | `FACILITY_LIMIT_NOT_ALLOWED` | OpenAccount | `facilityLimit` for a DEPOSIT or TERM_DEPOSIT product |
    | `FACILITY_LIMIT_OUT_OF_RANGE` | OpenAccount | the facility limit is outside the product's `minAmount`..`maxAmount`
    |
    | `INITIAL_DEPOSIT_BELOW_MINIMUM` | OpenAccount | `initialDeposit` (default 0) is below the product's `minBalance`,
    or (TERM_DEPOSIT) below its `minAmount` |
    | `INITIAL_DEPOSIT_ABOVE_MAXIMUM` | OpenAccount | TERM_DEPOSIT: `initialDeposit` is above the product's `maxAmount`
    |
    | `VALUE_DATE_BEFORE_BOOKING_DATE` | PostEntry | `valueDate` is before `bookingDate` |
    | `LEGS_MUST_SHARE_CURRENCY` | PostEntry | a leg's `currency` differs from the entry's |
    | `ACCOUNT_MUST_EXIST` | PostEntry | a leg's account does not exist in this tenant or is not active |
    | `ENTRY_CURRENCY_MUST_MATCH_ACCOUNT` | PostEntry | the entry's currency differs from a leg account's currency |
    | `LEGS_MUST_BALANCE` | PostEntry | the sum of DEBIT amounts differs from the sum of CREDIT amounts |
    | `OVERDRAFT_LIMIT_EXCEEDED` | PostEntry | an account would go below its floor (`minBalance`, or `-overdraftLimit`
    with `allowOverdraft`, or `-facilityLimit` for LOAN and CREDIT_CARD) |
    | `MAX_BALANCE_EXCEEDED` | PostEntry, OpenAccount | an account would go above its ceiling (`maxBalance`, or 0 for
    LOAN and CREDIT_CARD), an initial deposit included |

        Attributes:
            command_id (UUID):
            error (Literal['INVARIANT_VIOLATION']):
            invariant (InvariantViolationInvariant):
            details (InvariantViolationDetails): Context for the violation, e.g. the offending account and amounts.
            message (str | Unset): Human-readable; not for matching. An extension (the published violation has no message).
     """

    command_id: UUID
    error: Literal['INVARIANT_VIOLATION']
    invariant: InvariantViolationInvariant
    details: InvariantViolationDetails
    message: str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.invariant_violation_details import InvariantViolationDetails # noqa: PLC0415
        command_id = str(self.command_id)

        error = self.error

        invariant = self.invariant.value

        details = self.details.to_dict()

        message = self.message


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "commandId": command_id,
            "error": error,
            "invariant": invariant,
            "details": details,
        })
        if message is not UNSET:
            field_dict["message"] = message

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.invariant_violation_details import InvariantViolationDetails # noqa: PLC0415
        d = dict(src_dict)
        command_id = UUID(d.pop("commandId"))




        error = cast(Literal['INVARIANT_VIOLATION'] , d.pop("error"))
        if error != 'INVARIANT_VIOLATION':
            raise ValueError(f"error must match const 'INVARIANT_VIOLATION', got '{error}'")

        invariant = InvariantViolationInvariant(d.pop("invariant"))




        details = InvariantViolationDetails.from_dict(d.pop("details"))




        message = d.pop("message", UNSET)

        invariant_violation = cls(
            command_id=command_id,
            error=error,
            invariant=invariant,
            details=details,
            message=message,
        )

        return invariant_violation

