"""The mock's settings: one typed object, from the environment or the command line."""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_PLATFORM_KEY = "dev-platform-key"
PLATFORM_SCOPE = "*"


def spec_path() -> Path:
    """The contract file served at /v1/openapi.yaml: $MOCK_CORE_SPEC_PATH, else the one
    the package carries (the repository's openapi/, installed as `turingcore_contract`)."""
    configured = os.environ.get("MOCK_CORE_SPEC_PATH")
    if configured:
        return Path(configured)
    return Path(str(importlib.resources.files("turingcore_contract") / "turingcore.v1.yaml"))


def parse_api_keys(spec: str) -> dict[str, frozenset[str]]:
    """Parse `KEY=SCOPE[,SCOPE...];KEY=...` into {key: scopes}; `*` is every tenant."""
    keys: dict[str, frozenset[str]] = {}
    for entry in spec.replace("\n", ";").split(";"):
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        key, sep, scopes = entry.partition("=")
        key = key.strip()
        scope_set = frozenset(s.strip() for s in scopes.split(",") if s.strip())
        if not sep or not key or not scope_set:
            raise ValueError(f"API key entry {entry!r} must look like KEY=SCOPE[,SCOPE...]")
        if len(key) < 8:
            raise ValueError(f"API key {key[:3]}... is shorter than 8 characters")
        if key in keys:
            raise ValueError(f"API key {key[:3]}... is given twice")
        keys[key] = scope_set
    return keys


class Settings(BaseSettings):
    """Settings, read from MOCK_CORE_* variables unless given."""

    model_config = SettingsConfigDict(env_prefix="MOCK_CORE_", extra="forbid")

    database_url: str = "sqlite:///./var/mock-core.db"
    api_keys: str | None = Field(default=None, description="KEY=SCOPE[,SCOPE];... ")
    api_keys_file: Path | None = None
    admin_enabled: bool = True
    access_log: bool = True
    migrate_on_start: bool = True
    group_commit: bool = True
    # The store's caches, by name (`writer_memory,offset_marks`, a subset, or `none`);
    # the bench switches them off to measure what each buys.
    caches: str = "writer_memory,offset_marks"
    # A fault profile in force for every tenant, `NAME[:SEED][,PARAM=VALUE...]`
    # (docs/faults.md); None: none, unless the admin API sets one for a tenant.
    faults: str | None = None

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("database_url must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @field_validator("caches")
    @classmethod
    def _known_caches(cls, value: str) -> str:
        known = {"writer_memory", "offset_marks", "none"}
        unknown = {n.strip() for n in value.split(",") if n.strip()} - known
        if unknown:
            raise ValueError(f"unknown cache {sorted(unknown)[0]!r}; known: {sorted(known)}")
        return value

    @field_validator("faults")
    @classmethod
    def _some_faults(cls, value: str | None) -> str | None:
        # Parsed by `mock_core.api.faults.parse_spec` (the API layer, where the profiles
        # live): `mock-core serve` refuses a bad spec before it starts.
        return value.strip() if value and value.strip() else None

    @model_validator(mode="after")
    def _keys_parse(self) -> Settings:
        self.keys()  # refuse a malformed key list at start-up, not at the first request
        return self

    def keys(self) -> dict[str, frozenset[str]]:
        """The API keys in force: the setting, the file, or the development key."""
        spec = ""
        if self.api_keys_file is not None:
            spec = self.api_keys_file.read_text(encoding="utf-8")
        if self.api_keys:
            spec = f"{spec};{self.api_keys}" if spec else self.api_keys
        if not spec.strip():
            return {DEV_PLATFORM_KEY: frozenset({PLATFORM_SCOPE})}
        return parse_api_keys(spec)

    @property
    def using_dev_key(self) -> bool:
        return not (self.api_keys or self.api_keys_file)
