"""Schema conformance: every operation of the spec, driven by Schemathesis 4, against a Target.

    run_schema_suite(target) -> SuiteResult, one CheckRow per operation (named by its
    operationId) and one per domain check of `contract_tests.checks`.

How a run goes:
1. Load the contract (the packaged `turingcore.v1.yaml`, the repo's
   `openapi/turingcore.v1.yaml` shipped as the package `turingcore_contract`; or the
   target's `/v1/openapi.json`) and keep the published contract plus the extensions of ours the
   target offers (`contract_tests.extensions_published.published_view`): an extension operation,
   parameter or request field it does not offer is not tested, and its row says so.
2. Seed state through the gateway: the spec's own runnable example sequence (CreateTenant,
   products, a customer, three accounts, three entries), re-addressed to a fresh tenant
   of this run. The ids the service makes replace the example ids, so the examples phase
   replays the spec's examples against entities that exist.
3. Run Schemathesis's examples, coverage and fuzzing phases with positive and negative
   data, a fixed seed and every built-in check plus our domain checks. A `map_case` hook
   aims most generated path parameters at the seeded tenant, customer and accounts
   (the rest stay random, so 404s are exercised too) and keeps a positive command's
   envelope consistent with its path (tenantId, CreateTenant's tenantCode).

What counts as a failure:
- any 5xx (`not_a_server_error`);
- positive (schema-valid) data answered with anything but 2xx, 401, 403, 404, 409, 422
  or 429. A 422 is allowed because schema-valid data cannot know the ledger's state; the
  `error_shape` check still requires it to be an InvariantViolation with a documented
  invariant code;
- negative (schema-invalid) data answered with anything but a 4xx;
- everything else Schemathesis checks (status codes, content types, headers and bodies
  against the spec, auth enforced, 405s with Allow, ...).

Commands bind to one gateway, so Schemathesis's link-based stateful phase has nothing
to chain and is off; the ledger suite drives the workflows.
"""

from __future__ import annotations

import copy
import importlib.resources
import shlex
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import schemathesis
import yaml
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from contract_tests import checks as domain_checks
from contract_tests.extensions import (
    MARK,
    OPERATION_EXTENSIONS,
    Extensions,
    detect_extensions,
)
from contract_tests.extensions_published import published_view
from contract_tests.results import CheckRow, SuiteResult, curl_command
from contract_tests.schema_fixtures import CaseShaper, Fixtures, public_url, seed_fixtures
from contract_tests.target import Target
from turingcore_client.contract import SPEC_PACKAGE, SPEC_RESOURCE
from turingcore_client.contract import spec as packaged_spec

SUITE = "schema"
# The contract travels with the package: the repo's openapi/ folder is the package
# `turingcore_contract` (pyproject.toml), so an installed wheel reads the same file.
DEFAULT_MAX_EXAMPLES = 50
# The operations a domain check applies to (None: every operation). With --operations,
# a check none of whose operations is tested has no row.
DOMAIN_CHECK_OPERATIONS: dict[str, tuple[str, ...] | None] = {
    "error_shape": None,
    "balance_derivability": ("getAccount", "listAccounts"),
    "tenant_sums_to_zero": ("listAccounts",),
}
PHASES = ("examples", "coverage", "fuzzing")
COMMANDS_OPERATION = "submitCommand"
# Schema-valid data may be refused for reasons the schema cannot express: an unknown id
# (404), a key's scope (401/403), an idempotency key in flight (409), rate limits (429)
# and the ledger's invariants (422, whose shape `error_shape` checks).
POSITIVE_EXPECTED = ["2XX", "401", "403", "404", "409", "422", "429"]
NEGATIVE_EXPECTED = ["4XX"]
# Headers that say nothing about the request under test; left out of the curl line.
_NOISE_HEADERS = frozenset(
    {"user-agent", "accept", "accept-encoding", "connection", "content-length", "host"}
)


@dataclass
class SchemaSuiteResult(SuiteResult):
    """A SuiteResult that also says which checks failed on which operation."""

    failed_checks: dict[str, set[str]] = field(default_factory=dict)
    fixtures: Fixtures | None = None

    def caught_by(self, name: str) -> set[str]:
        """The checks that failed at least once on an operation (or a domain-check row)."""
        return self.failed_checks.get(name, set())


def load_spec(
    target: Target | None = None, *, from_target: bool = False, path: Path | None = None
) -> dict[str, Any]:
    """The contract as a dict: the packaged spec (or the file `path`), or the one the
    target serves."""
    if from_target:
        if target is None:
            raise ValueError("from_target needs a target")
        with target.client() as client:
            reply = client.get("/v1/openapi.json")
            reply.raise_for_status()
            loaded = reply.json()
    elif path is not None:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    else:
        try:
            # The kit parses the packaged contract once; each caller gets its own copy to
            # change (`published_view` and the tests strip and rewrite it).
            loaded = copy.deepcopy(packaged_spec())
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            raise _missing(exc) from None
    if not isinstance(loaded, dict):
        raise ValueError("the contract is not an OpenAPI document")
    return loaded


def packaged_spec_text() -> str:
    """The text of the contract shipped with the package."""
    try:
        resource = importlib.resources.files(SPEC_PACKAGE) / SPEC_RESOURCE
        return resource.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise _missing(exc) from None


def _missing(exc: Exception) -> ValueError:
    return ValueError(
        f"the packaged contract {SPEC_PACKAGE}/{SPEC_RESOURCE} is missing "
        f"({exc}); reinstall turingcore-kit or pass --spec FILE"
    )


def operation_ids(spec: Mapping[str, Any]) -> dict[str, str]:
    """Schemathesis operation labels ("GET /tenants/{tenantId}") -> operationIds."""
    labels = {}
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                labels[f"{method.upper()} {path}"] = operation["operationId"]
    return labels


def run_schema_suite(
    target: Target,
    *,
    seed: int = 1,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    modes: Sequence[str] = ("positive", "negative"),
    operations: list[str] | None = None,
    spec_from_target: bool = False,
    spec_path: Path | None = None,
    phases: Sequence[str] = PHASES,
    extensions: Extensions | None = None,
) -> SchemaSuiteResult:
    """Run the schema conformance suite against a target.

    `phases` are Schemathesis's (examples, coverage, fuzzing); `spec_path` tests against
    another copy of the contract. Returns one CheckRow per operation (runs = test cases
    sent, failed = cases on which any check failed, with the first one as a curl command)
    and one per domain check.
    `result.error` is set when the suite could not run at all.
    """
    started = time.perf_counter()
    result = SchemaSuiteResult(SUITE)
    domain_checks.reset_follow_up_cache()
    try:
        contract = load_spec(target, from_target=spec_from_target, path=spec_path)
        ext = extensions or detect_extensions(target)
    except (OSError, ValueError, httpx.HTTPError, yaml.YAMLError) as exc:
        result.error = f"could not load the contract: {exc}"
        return result
    result.extensions = ext.describe()
    spec = published_view(contract, ext)
    labels = operation_ids(spec)
    absent = {
        op: OPERATION_EXTENSIONS.get(op, "operation")
        for op in operation_ids(contract).values()
        if op not in labels.values() and (operations is None or op in operations)
    }
    wanted = [op for op in labels.values() if operations is None or op in operations]
    if operations:
        unknown = sorted(set(operations) - set(labels.values()))
        if unknown:
            result.error = f"unknown operationIds: {', '.join(unknown)}"
            return result
    marked = _marked_operations(contract)
    for operation_id in wanted:
        result.row(operation_id)
        if operation_id in marked:
            result.mark_extension(
                operation_id, OPERATION_EXTENSIONS.get(operation_id, operation_id), True
            )
    for operation_id, extension in absent.items():
        result.mark_extension(operation_id, extension, False)
    for name in domain_checks.DOMAIN_CHECKS:
        applies = DOMAIN_CHECK_OPERATIONS.get(name)
        if applies is None or any(op in wanted for op in applies):
            result.row(name)  # else --operations left out every read the check applies to
    if any(row.name == "tenant_sums_to_zero" for row in result.rows):
        result.mark_extension("tenant_sums_to_zero", "account_type", ext["account_type"])

    try:
        config = _config(target, seed, max_examples, modes, phases)
    except ValueError as exc:
        result.error = str(exc)
        return result

    try:
        _run(result, target, spec, config, labels, seed, operations, ext)
    except KeyboardInterrupt:
        # Ctrl-C, SIGTERM or the CLI's --timeout while we (not Schemathesis) had control.
        result.interrupted = result.interrupted or "interrupted"
    result.duration_s = time.perf_counter() - started
    # Schemathesis does not time operations; share the run's time out by cases sent.
    operation_rows = [row for row in result.rows if row.name in labels.values()]
    cases = sum(row.runs for row in operation_rows) or 1
    for row in operation_rows:
        row.duration_s = result.duration_s * row.runs / cases
    return result


def _run(
    result: SchemaSuiteResult,
    target: Target,
    spec: dict[str, Any],
    config: SchemathesisConfig,
    labels: Mapping[str, str],
    seed: int,
    operations: list[str] | None,
    ext: Extensions,
) -> None:
    """Seed the fixtures, then run Schemathesis and collect its events into `result`."""
    tenant_id = "CT_SCHEMA_" + uuid.uuid4().hex[:8].upper()
    try:
        with target.client() as client:
            fixtures = seed_fixtures(client, spec, tenant_id, target, result, ext)
    except httpx.HTTPError as exc:
        result.error = f"could not seed the target {target.describe()}: {exc}"
        return
    result.fixtures = fixtures

    schema: Any = schemathesis.openapi.from_dict(spec, config=config)
    if target.app is not None:
        schema.app = target.app
    if operations:
        schema = schema.include(operation_id=list(operations))
    shaper = CaseShaper(fixtures, seed)

    # Schemathesis sets attributes on hook functions, hence plain functions here.
    def map_case(context: Any, case: Any) -> Any:
        return shaper(context, case)

    def before_add_examples(context: Any, examples: list[Any]) -> None:
        shaper.examples(context, examples)

    schema.hook(map_case)
    schema.hook(before_add_examples)

    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            _collect(result, labels, event, target)
        elif isinstance(event, events.NonFatalError):
            name = labels.get(event.label, event.label)
            row = result.row(name if name in labels.values() else "errors")
            row.record(False, f"error ({event.phase}): {event.info.title}: {event.info.message}")
            result.failed_checks.setdefault(row.name, set()).add("error")
        elif isinstance(event, events.Interrupted):
            # Schemathesis catches Ctrl-C (and the CLI's SIGTERM and --timeout, raised as
            # KeyboardInterrupt) and stops: what ran is kept, the suite is incomplete.
            result.interrupted = "interrupted"
        elif isinstance(event, events.FatalError):
            result.error = f"Schemathesis stopped: {event.exception}"
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                result.row("errors").record(False, f"{failure.title}: {failure.message}")


def _marked_operations(spec: Mapping[str, Any]) -> set[str]:
    """The operationIds the contract marks as extensions of ours."""
    found = set()
    for item in (spec.get("paths") or {}).values():
        if not isinstance(item, dict):
            continue
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            if item.get(MARK) is True or operation.get(MARK) is True:
                found.add(str(operation["operationId"]))
    return found


def _config(
    target: Target,
    seed: int,
    max_examples: int,
    modes: Sequence[str],
    phases: Sequence[str],
) -> SchemathesisConfig:
    mode = "all" if set(modes) >= {"positive", "negative"} else next(iter(modes), "")
    if mode not in {"all", "positive", "negative"}:
        raise ValueError(f"unknown generation mode {mode!r}")
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise ValueError(f"unknown phases {', '.join(sorted(unknown))}; choose from {PHASES}")
    return SchemathesisConfig.from_dict(
        {
            "seed": seed,
            "base-url": f"{target.base_url}/v1",
            "headers": target.headers(),
            "workers": 1,
            "continue-on-failure": True,
            "request-timeout": 30,
            # No example database: a verdict must not depend on what an earlier run on
            # this machine happened to find (CI starts from a fresh clone).
            "generation": {"mode": mode, "max-examples": max_examples, "database": "none"},
            "phases": {
                "examples": {"enabled": "examples" in phases, "fill-missing": True},
                "coverage": {"enabled": "coverage" in phases},
                "fuzzing": {"enabled": "fuzzing" in phases},
                "stateful": {"enabled": False},
            },
            "checks": {
                "positive_data_acceptance": {"expected-statuses": POSITIVE_EXPECTED},
                "negative_data_rejection": {"expected-statuses": NEGATIVE_EXPECTED},
            },
        }
    )


# --- from Schemathesis events to rows ----------------------------------------------------


def _collect(
    result: SchemaSuiteResult, labels: Mapping[str, str], event: Any, target: Target
) -> None:
    recorder = event.recorder
    name = labels.get(recorder.label, recorder.label)
    row = result.row(name)
    for case_id, node in recorder.cases.items():
        if node.parent_id is not None:
            continue  # requests a check made on its own (auth probes, ...) count with their parent
        if case_id not in recorder.interactions:
            continue
        nodes = list(_check_nodes(recorder, case_id))
        failures = [n for n in nodes if n.status == Status.FAILURE]
        for check in nodes:
            if check.name in domain_checks.DOMAIN_CHECKS:
                _record_check(result.row(check.name), recorder, case_id, check, target)
                if check.status == Status.FAILURE:
                    result.failed_checks.setdefault(check.name, set()).add(name)
        if not failures:
            row.record(True)
            continue
        result.failed_checks.setdefault(name, set()).update(f.name for f in failures)
        first = failures[0]
        row.record(
            False, _describe(first, recorder, case_id), _reproduce(recorder, case_id, first, target)
        )


def _check_nodes(recorder: Any, case_id: str) -> Iterable[Any]:
    """The checks run on a case and on the requests derived from it."""
    yield from recorder.checks.get(case_id, [])
    for child_id, node in recorder.cases.items():
        if node.parent_id == case_id:
            yield from recorder.checks.get(child_id, [])


def _record_check(row: CheckRow, recorder: Any, case_id: str, check: Any, target: Target) -> None:
    if check.status != Status.FAILURE:
        row.record(True)
        return
    row.record(
        False, _describe(check, recorder, case_id), _reproduce(recorder, case_id, check, target)
    )


def _describe(check: Any, recorder: Any, case_id: str) -> str:
    """`check: title. message (got STATUS: body...)`, in one line."""
    failure = check.failure_info.failure if check.failure_info else None
    if failure is None:
        return check.name
    message = _clip(" ".join(str(failure.message).split()), 300)
    text = f"{check.name}: {failure.title}. {message}"
    interaction = recorder.interactions.get(failure.case_id or case_id)
    response = getattr(interaction, "response", None)
    if response is not None:
        body = (response.content or b"").decode("utf-8", "replace")
        text += f" (got {response.status_code}: {_clip(' '.join(body.split()), 200)})"
    return text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _reproduce(recorder: Any, case_id: str, check: Any, target: Target) -> str | None:
    failure = check.failure_info.failure if check.failure_info else None
    interaction = recorder.interactions.get((failure and failure.case_id) or case_id)
    if interaction is None:
        return None
    request = interaction.request
    headers = {
        name: values[0] if isinstance(values, list) else values
        for name, values in request.headers.items()
        if name.lower() not in _NOISE_HEADERS and not name.lower().startswith("x-schemathesis")
    }
    body = request.body.decode("utf-8", "replace") if request.body else None
    # The run's own key becomes $TURINGCORE_API_KEY in the curl line; a made-up one (an auth
    # probe's) is part of what failed, so it stays as it was sent.
    sent_auth = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    made_up = sent_auth is not None and sent_auth != target.headers()["Authorization"]
    if made_up:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    curl = curl_command(request.method, public_url(target, request.uri), headers, body)
    if made_up:
        curl += " -H " + shlex.quote(f"Authorization: {sent_auth}")
    return curl
