""" Contains all the data models used in inputs/outputs """

from .account_balance_as_of import AccountBalanceAsOf
from .account_page import AccountPage
from .account_summary import AccountSummary
from .account_summary_status import AccountSummaryStatus
from .account_type import AccountType
from .actor import Actor
from .actor_actor_type import ActorActorType
from .address import Address
from .bonus_conditions import BonusConditions
from .command_accepted import CommandAccepted
from .command_result import CommandResult
from .create_customer_command import CreateCustomerCommand
from .create_customer_payload import CreateCustomerPayload
from .create_tenant_command import CreateTenantCommand
from .create_tenant_payload import CreateTenantPayload
from .credit_criteria import CreditCriteria
from .customer import Customer
from .customer_page import CustomerPage
from .customer_status import CustomerStatus
from .customer_summary import CustomerSummary
from .customer_summary_status import CustomerSummaryStatus
from .direction import Direction
from .employment import Employment
from .employment_status import EmploymentStatus
from .entry_leg import EntryLeg
from .entry_metadata import EntryMetadata
from .entry_tags import EntryTags
from .error import Error
from .error_details import ErrorDetails
from .error_error import ErrorError
from .event_envelope import EventEnvelope
from .event_envelope_payload import EventEnvelopePayload
from .event_page import EventPage
from .event_type import EventType
from .gl_account_code import GLAccountCode
from .invariant_violation import InvariantViolation
from .invariant_violation_details import InvariantViolationDetails
from .invariant_violation_invariant import InvariantViolationInvariant
from .list_accounts_account_type import ListAccountsAccountType
from .open_account_command import OpenAccountCommand
from .open_account_payload import OpenAccountPayload
from .person import Person
from .post_entry_command import PostEntryCommand
from .post_entry_payload import PostEntryPayload
from .product import Product
from .product_constraints import ProductConstraints
from .product_fees import ProductFees
from .product_interest import ProductInterest
from .product_list import ProductList
from .product_status import ProductStatus
from .product_type import ProductType
from .risk_profile import RiskProfile
from .tenant import Tenant
from .tenant_status import TenantStatus
from .trial_balance import TrialBalance
from .trial_balance_line import TrialBalanceLine
from .trial_balance_line_account_type import TrialBalanceLineAccountType
from .upsert_product_command import UpsertProductCommand
from .upsert_product_payload import UpsertProductPayload
from .validation_issue import ValidationIssue

__all__ = (
    "AccountBalanceAsOf",
    "AccountPage",
    "AccountSummary",
    "AccountSummaryStatus",
    "AccountType",
    "Actor",
    "ActorActorType",
    "Address",
    "BonusConditions",
    "CommandAccepted",
    "CommandResult",
    "CreateCustomerCommand",
    "CreateCustomerPayload",
    "CreateTenantCommand",
    "CreateTenantPayload",
    "CreditCriteria",
    "Customer",
    "CustomerPage",
    "CustomerStatus",
    "CustomerSummary",
    "CustomerSummaryStatus",
    "Direction",
    "Employment",
    "EmploymentStatus",
    "EntryLeg",
    "EntryMetadata",
    "EntryTags",
    "Error",
    "ErrorDetails",
    "ErrorError",
    "EventEnvelope",
    "EventEnvelopePayload",
    "EventPage",
    "EventType",
    "GLAccountCode",
    "InvariantViolation",
    "InvariantViolationDetails",
    "InvariantViolationInvariant",
    "ListAccountsAccountType",
    "OpenAccountCommand",
    "OpenAccountPayload",
    "Person",
    "PostEntryCommand",
    "PostEntryPayload",
    "Product",
    "ProductConstraints",
    "ProductFees",
    "ProductInterest",
    "ProductList",
    "ProductStatus",
    "ProductType",
    "RiskProfile",
    "Tenant",
    "TenantStatus",
    "TrialBalance",
    "TrialBalanceLine",
    "TrialBalanceLineAccountType",
    "UpsertProductCommand",
    "UpsertProductPayload",
    "ValidationIssue",
)
