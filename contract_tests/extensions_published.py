"""The contract as a target must meet it: the published contract plus the extensions of
ours the target offers (`published_view`), and the published contract alone
(`stripped_spec`, what a service that offers no extension serves). The marks are
`x-turingcore-extension: true` (`contract_tests.extensions`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from contract_tests.extensions import (
    HEADER_EXTENSIONS,
    MARK,
    OPERATION_EXTENSIONS,
    PARAMETER_EXTENSIONS,
    REQUEST_FIELD_EXTENSIONS,
    REQUEST_SCHEMA_LOCATIONS,
    Extensions,
    find_operation,
    iter_operations,
    parameter_names,
    properties_of,
    resolve_ref,
    response_headers,
)


def _marked(node: Any) -> bool:
    return isinstance(node, dict) and node.get(MARK) is True


def _request_schemas(spec: Mapping[str, Any]) -> set[str]:
    """The component schemas reachable from request bodies."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found:
                    found.add(name)
                    walk((spec.get("components") or {}).get("schemas", {}).get(name))
            for key, value in node.items():
                if key not in ("examples", "example"):
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for _, _, operation in iter_operations(spec):
        body = resolve_ref(spec, operation.get("requestBody"))
        if isinstance(body, dict):
            for media in (body.get("content") or {}).values():
                if isinstance(media, dict):
                    walk(media.get("schema"))
    return found


def published_view(spec: Mapping[str, Any], extensions: Extensions) -> dict[str, Any]:
    """`spec` without the marked parts the target does not offer.

    Kept: what the target offers (present in the spec it serves; by name from probing),
    and the marked properties of reply schemas (optional; checked when served).
    Removed: marked operations, parameters, request fields and reply headers the target
    does not offer, and those request fields from the request examples too.
    """
    out: dict[str, Any] = copy.deepcopy(dict(spec))
    served = extensions.served

    def keep_operation(path: str, method: str, operation: dict[str, Any]) -> bool:
        if served is not None:
            return find_operation(served, method, path) is not None
        name = OPERATION_EXTENSIONS.get(str(operation.get("operationId")))
        return name is not None and extensions[name]

    def keep_parameter(path: str, method: str, name: str) -> bool:
        if served is not None:
            return name in parameter_names(served, method, path)
        flag = PARAMETER_EXTENSIONS.get(name)
        return flag is not None and extensions[flag]

    def keep_property(schema: str, prop: str) -> bool:
        if served is not None:
            return prop in properties_of(served, schema)
        flag = REQUEST_FIELD_EXTENSIONS.get((schema, prop))
        return flag is not None and extensions[flag]

    def keep_header(path: str, method: str, status: str, name: str) -> bool:
        if served is not None:
            return name.lower() in response_headers(served, method, path, status)
        flag = HEADER_EXTENSIONS.get(name.lower())
        return flag is not None and extensions[flag]

    paths = out.get("paths") or {}
    for path in list(paths):
        item = paths[path]
        if not isinstance(item, dict):
            continue
        item_marked = _marked(item)
        for method in [m for m in list(item) if m in ("get", "post", "put", "patch", "delete")]:
            operation = item[method]
            if (item_marked or _marked(operation)) and not keep_operation(path, method, operation):
                del item[method]
                continue
            for holder in (item, operation):
                params = holder.get("parameters")
                if not isinstance(params, list):
                    continue
                kept = []
                for param in params:
                    resolved = resolve_ref(out, param)
                    if _marked(resolved) and not keep_parameter(
                        path, method, str(resolved.get("name"))
                    ):
                        continue
                    kept.append(param)
                holder["parameters"] = kept
            for status, response in (operation.get("responses") or {}).items():
                resolved = resolve_ref(out, response)
                headers = resolved.get("headers") if isinstance(resolved, dict) else None
                if not isinstance(headers, dict):
                    continue
                for name in list(headers):
                    marked = _marked(headers[name]) or _marked(resolve_ref(out, headers[name]))
                    if marked and not keep_header(path, method, str(status), name):
                        if resolved is response:
                            del headers[name]
                        else:  # a shared response: copy it before changing it
                            copied = copy.deepcopy(resolved)
                            del copied["headers"][name]
                            operation["responses"][status] = copied
                            resolved, headers = copied, copied["headers"]
        if not any(m in item for m in ("get", "post", "put", "patch", "delete")):
            del paths[path]

    schemas = (out.get("components") or {}).get("schemas") or {}
    removed: set[tuple[str, str]] = set()
    for schema_name in _request_schemas(out):
        node = schemas.get(schema_name)
        if not isinstance(node, dict):
            continue
        for part in [node, *(p for p in node.get("allOf") or [] if isinstance(p, dict))]:
            props = part.get("properties")
            if not isinstance(props, dict):
                continue
            for prop in list(props):
                if (_marked(props[prop]) or _marked(resolve_ref(out, props[prop]))) and not (
                    keep_property(schema_name, prop)
                ):
                    del props[prop]
                    if isinstance(part.get("required"), list) and prop in part["required"]:
                        part["required"].remove(prop)
                    removed.add((schema_name, prop))
    if removed:
        _strip_examples(out, removed)
    return out


def _strip_examples(spec: dict[str, Any], removed: set[tuple[str, str]]) -> None:
    """Remove fields the target does not offer from the command examples."""
    for _, _, operation in iter_operations(spec):
        body = operation.get("requestBody")
        if not isinstance(body, dict):
            continue
        for media in (body.get("content") or {}).values():
            examples = media.get("examples") if isinstance(media, dict) else None
            if not isinstance(examples, dict):
                continue
            for example in examples.values():
                value = example.get("value") if isinstance(example, dict) else None
                if isinstance(value, dict):
                    strip_command(value, removed)


def strip_command(command: dict[str, Any], removed: set[tuple[str, str]]) -> None:
    """Remove (schema, property) fields from one command, where each schema sits."""
    for schema, prop in removed:
        where = REQUEST_SCHEMA_LOCATIONS.get(schema)
        if where is None or command.get("commandType") != where[0]:
            continue
        for holder in _walk(command, where[1]):
            if isinstance(holder, dict):
                holder.pop(prop, None)


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if not path:
        yield node
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for item in node if isinstance(node, list) else []:
            yield from _walk(item, rest)
    elif isinstance(node, dict) and head in node:
        yield from _walk(node[head], rest)


def stripped_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """`spec` with every marked part removed, reply properties included: what a service
    that implements only the published contract would serve."""
    view = published_view(spec, Extensions.nothing())

    def prune(node: Any) -> Any:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                for prop in [p for p, v in props.items() if _marked(v)]:
                    del props[prop]
                    if isinstance(node.get("required"), list) and prop in node["required"]:
                        node["required"].remove(prop)
            for key in [k for k, v in node.items() if _marked(v)]:
                del node[key]
            for value in node.values():
                prune(value)
        elif isinstance(node, list):
            node[:] = [prune(v) for v in node if not _marked(v)]
        return node

    return prune(view)
