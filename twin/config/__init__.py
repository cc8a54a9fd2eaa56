"""Typed configuration of the digital twin: the tenant with its products, and the scenarios.

Both live as YAML under the repository's `config/` folder (`config/tenants/*.yaml`,
`config/scenarios/*.yaml`), in snake_case. They are loaded into pydantic models that
refuse unknown fields, so a typo is an error rather than a silently ignored setting.

Every problem in a file is raised as one `ConfigError` (a `ValueError`) whose message
names the file, the field path and what was expected, one line per problem:

    config/scenarios/x.yaml: transactions.salary_amount_ranges.low: expected [min, max]
    with min <= max, got [5, 2]

Money is `Decimal` with at most two decimal places; it becomes a JSON number only in the
`to_*_payload()` methods, which build the wire payloads of docs/contract.md.

The package, by seam:
- `values`: the limits (unit last), `ConfigError` and the field types with their
  validators;
- `tenant`: the tenant file's models and the CreateTenant and UpsertProduct payloads;
- `scenario`: the scenario file's models;
- `checks`: the checks that span several fields, and a scenario against its tenant;
- `loading`: reading YAML into the models, pydantic's errors into `ConfigError`
  lines, and finding the shipped files by name.
"""

from twin.config.checks import check_scenario_against_tenant
from twin.config.loading import (
    default_config_dir,
    load_scenario_and_tenant,
    load_scenario_config,
    load_tenant_config,
    resolve_scenario,
    resolve_tenant,
)
from twin.config.scenario import (
    AccountsConfig,
    BehaviorsConfig,
    CustomerDemographics,
    CustomersConfig,
    DailyDebitsConfig,
    EconomicConditionsConfig,
    InitialBalancesConfig,
    InvalidCommandsConfig,
    ScenarioConfig,
    SpendingByDay,
    TimelineConfig,
    TransactionsConfig,
)
from twin.config.tenant import (
    CONSTRAINTS_BY_TYPE,
    ConstraintsConfig,
    CreditCriteriaConfig,
    InterestConfig,
    ProductConfig,
    TenantConfig,
    TenantDemographics,
    TenantInfo,
)
from twin.config.values import (
    CONFIG_DIR_ENV,
    WEEKDAYS,
    ConfigError,
    customers_count_max,
    scenario_days_max,
)

__all__ = [
    "CONFIG_DIR_ENV",
    "CONSTRAINTS_BY_TYPE",
    "WEEKDAYS",
    "AccountsConfig",
    "BehaviorsConfig",
    "ConfigError",
    "ConstraintsConfig",
    "CreditCriteriaConfig",
    "CustomerDemographics",
    "CustomersConfig",
    "DailyDebitsConfig",
    "EconomicConditionsConfig",
    "InitialBalancesConfig",
    "InterestConfig",
    "InvalidCommandsConfig",
    "ProductConfig",
    "ScenarioConfig",
    "SpendingByDay",
    "TenantConfig",
    "TenantDemographics",
    "TenantInfo",
    "TimelineConfig",
    "TransactionsConfig",
    "check_scenario_against_tenant",
    "customers_count_max",
    "default_config_dir",
    "load_scenario_and_tenant",
    "load_scenario_config",
    "load_tenant_config",
    "resolve_scenario",
    "resolve_tenant",
    "scenario_days_max",
]
