"""Deployment parameters: read once from CDK context, typed and checked before any stack is built.

Every key is namespaced ``skyglass:`` and optional; set them in ``cdk.json``'s ``context`` block or
with ``-c skyglass:key=value`` (values given on the command line arrive as strings, so each one is
coerced here). ``docs/deploy.md`` lists them.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from constructs import Construct

PREFIX = "skyglass:"

# CloudWatch Logs retention periods (days) we accept; stacks/constructs/log_groups.py maps each one.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192)

# S3 moves objects to Standard-IA no sooner than this many days after they were created.
STANDARD_IA_MIN_DAYS = 30

SAMPLE_SCHEDULE: dict[str, Any] = {
    "name": "sample-nightly",
    "expression": "cron(0 3 * * ? *)",
    "enabled": False,
    "input": {"runName": "nightly", "datasetName": "example"},
}


@dataclass(frozen=True)
class EvalSchedule:
    """One EventBridge Scheduler schedule that starts an evaluation run with ``input``."""

    name: str
    expression: str
    enabled: bool = False
    input: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SkyglassConfig:
    """The knobs of one deployment; defaults give a working, cheapest-possible stage."""

    stage: str = "prod"
    clickhouse_url: str = ""
    clickhouse_secret_arn: str = ""
    clickhouse_secret_name: str = ""
    aurora_min_acu: float = 0.0
    aurora_max_acu: float = 4.0
    aurora_auto_pause_minutes: int = 5
    aurora_backup_days: int = 7
    log_retention_days: int = 30
    log_level: str = "INFO"
    metrics_namespace: str = "Skyglass"
    domain_name: str = ""
    certificate_arn: str = ""
    api_throttle_rate: int = 500
    api_throttle_burst: int = 1000
    worker_reserved_concurrency: int = 4
    # Powertools' Tracer (X-Ray SDK subsegments) in the ingest function: the SDK adds about a
    # quarter second to every cold start (docs/benchmarks.md), so ingest does without it unless
    # asked; its invocations are still traced by Lambda's active tracing.
    ingest_tracer: bool = False
    queue_age_alarm_seconds: int = 900
    raw_bucket_versioned: bool = False
    raw_ia_after_days: int = 30
    eval_max_concurrency: int = 10
    eval_schedules: tuple[EvalSchedule, ...] = (EvalSchedule(**SAMPLE_SCHEDULE),)
    alarm_email: str = ""
    deps_layer_dir: str = "build/layers/deps"
    ingest_layer_dir: str = "build/layers/ingest"
    strict: bool = False
    # Changes the migrations custom resource on every synth, so every deploy runs the migrations;
    # load_config fills in a fresh one unless the context pins it (reproducible synth, tests).
    deploy_nonce: str = ""

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("invalid skyglass context: " + "; ".join(problems))

    def _problems(self) -> list[str]:
        out: list[str] = []
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,15}", self.stage):
            out.append(f"stage {self.stage!r} must be 1-16 lowercase letters, digits or '-'")
        if not 0 <= self.aurora_min_acu <= self.aurora_max_acu <= 256 or self.aurora_max_acu < 1:
            out.append("need 0 <= aurora_min_acu <= aurora_max_acu <= 256 and aurora_max_acu >= 1")
        if not 5 <= self.aurora_auto_pause_minutes <= 1440:
            out.append("aurora_auto_pause_minutes must be within 5..1440")
        if not 1 <= self.aurora_backup_days <= 35:
            out.append("aurora_backup_days must be within 1..35")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            out.append(f"log_retention_days must be one of {LOG_RETENTION_DAYS}")
        if bool(self.domain_name) != bool(self.certificate_arn):
            out.append("domain_name and certificate_arn go together")
        if self.worker_reserved_concurrency < 2:
            out.append("worker_reserved_concurrency must be >= 2 (the SQS poller's minimum)")
        if self.raw_ia_after_days < STANDARD_IA_MIN_DAYS:
            out.append(
                f"raw_ia_after_days must be >= {STANDARD_IA_MIN_DAYS} (got {self.raw_ia_after_days}): S3 "
                "refuses a lifecycle transition to STANDARD_IA sooner than 30 days after an object's creation"
            )
        if self.eval_max_concurrency < 1:
            out.append("eval_max_concurrency must be >= 1")
        if self.clickhouse_url and not re.match(r"clickhouses?://", self.clickhouse_url):
            out.append("clickhouse_url must start with clickhouse:// or clickhouses://")
        if re.search(r"://[^/@]*:[^/@]*@", self.clickhouse_url):
            out.append("clickhouse_url must not embed a password: put credentials in the ClickHouse secret")
        if self.strict and not self.clickhouse_url:
            out.append("clickhouse_url is required to deploy (e.g. clickhouses://host:8443/default)")
        return out

    @property
    def auto_pause(self) -> bool:
        """Aurora pauses only when it may scale to zero."""
        return self.aurora_min_acu == 0


def _coerce(name: str, raw: Any, default: Any) -> Any:
    """``raw`` as the type of ``default`` (``-c`` values arrive as strings)."""
    try:
        return _coerce_value(name, raw, default)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"skyglass:{name}: cannot use {raw!r}: {exc}") from exc


def _coerce_value(name: str, raw: Any, default: Any) -> Any:
    if name == "eval_schedules":
        items = json.loads(raw) if isinstance(raw, str) else raw
        return tuple(EvalSchedule(**item) for item in items)
    if isinstance(default, bool):
        if isinstance(raw, str):
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError("expected true or false")
            return raw.lower() in ("true", "1", "yes")
        return bool(raw)
    if isinstance(default, int | float):
        value = float(raw)
        return int(value) if isinstance(default, int) and value.is_integer() else value
    return str(raw)


def new_deploy_nonce() -> str:
    """A value no earlier synth had: the UTC time (readable in the console) and a random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def load_config(scope: Construct) -> SkyglassConfig:
    """The config from ``scope``'s context; an unknown ``skyglass:`` key is an error (a typo).

    ``deploy_nonce`` is a fresh ``new_deploy_nonce()`` unless the context sets one.
    """
    context: dict[str, Any] = dict(scope.node.get_all_context())
    defaults = {f.name: f.default for f in fields(SkyglassConfig)}
    unknown = sorted(k for k in context if k.startswith(PREFIX) and k[len(PREFIX) :] not in defaults)
    if unknown:
        raise ValueError(f"unknown skyglass context keys: {unknown}")
    values = {
        name: _coerce(name, context[PREFIX + name], default)
        for name, default in defaults.items()
        if context.get(PREFIX + name) is not None
    }
    if not values.get("deploy_nonce"):
        values["deploy_nonce"] = new_deploy_nonce()
    return SkyglassConfig(**values)
