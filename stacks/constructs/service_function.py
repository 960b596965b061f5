"""``ServiceFunction``: one Lambda with the defaults every skyglass function shares.

arm64, the runtime of ``runtime.py``, memory, timeout and dependency layer from its ``FunctionSpec``
(the manifest), the skyglass package layer, X-Ray active tracing, its own log group with the
configured retention, and the Powertools environment (service name, log level, metrics namespace).
The code asset is the ``functions/`` package alone, so handler paths read
``functions.<name>.handler.<entry>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, IgnoreMode
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.config import SkyglassConfig
from stacks.constructs.core_layer import CoreLayer
from stacks.constructs.log_groups import log_group
from stacks.constructs.runtime import ARCHITECTURE, ROOT, RUNTIME
from stacks.nag import acknowledge
from stacks.specs import FunctionSpec, function_spec


@dataclass(frozen=True)
class FunctionDefaults:
    """Per-deployment settings every function gets (from ``SkyglassConfig``)."""

    stage: str
    log_retention_days: int
    log_level: str
    metrics_namespace: str


def functions_code() -> lambda_.Code:
    """The ``functions/`` package (and nothing else of the repository) as a Lambda code asset."""
    return lambda_.Code.from_asset(
        str(ROOT),
        exclude=["*", "!functions", "**/__pycache__", "**/*.pyc"],
        ignore_mode=IgnoreMode.DOCKER,
    )


class ServiceFunction(Construct):
    """``function``, its ``role`` and its ``log_group``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        layer: CoreLayer,
        defaults: FunctionDefaults,
        environment: Mapping[str, str],
        reserved_concurrency: int | None = None,
    ):
        super().__init__(scope, construct_id)
        self.spec = spec
        self.log_group = log_group(self, "Logs", defaults.log_retention_days)
        # Our own role instead of AWSLambdaBasicExecutionRole: logs go to this group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"skyglass {defaults.stage} {spec.name} function",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=functions_code(),
            layers=layer.layers_for(spec.layer),
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
            reserved_concurrent_executions=reserved_concurrency,
            description=f"skyglass {defaults.stage} {spec.name}",
            environment={
                "POWERTOOLS_SERVICE_NAME": f"skyglass-{spec.name}",
                "POWERTOOLS_LOG_LEVEL": defaults.log_level,
                "POWERTOOLS_METRICS_NAMESPACE": defaults.metrics_namespace,
                "SKYGLASS_LOG_LEVEL": defaults.log_level,
                **environment,
            },
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Python 3.13 is a supported Lambda runtime and the one the dependency layer's compiled "
            "wheels are built and tested for; moving to a newer runtime is a deliberate change of "
            "stacks/constructs/runtime.py and the Makefile's LAMBDA_PYTHON together.",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which "
            "support no resource-level permissions; every other statement of this role names its "
            "resources.",
        )


class FunctionFactory:
    """The layer, defaults and environment one stack's functions share; builds ``ServiceFunction``s.

    Each stateless stack has its own layer versions (same assets, deduplicated by hash): exporting a
    layer ARN across stacks would block every layer update behind a CloudFormation export in use.
    """

    def __init__(self, scope: Construct, *, config: SkyglassConfig, environment: Mapping[str, str]):
        self.scope = scope
        self.layer = CoreLayer(
            scope,
            "CoreLayer",
            deps_dirs={"full": Path(config.deps_layer_dir), "ingest": Path(config.ingest_layer_dir)},
            strict=config.strict,
        )
        self.defaults = FunctionDefaults(
            stage=config.stage,
            log_retention_days=config.log_retention_days,
            log_level=config.log_level,
            metrics_namespace=config.metrics_namespace,
        )
        self.environment = dict(environment)

    def make(
        self,
        construct_id: str,
        name: str,
        *,
        reserved_concurrency: int | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> ServiceFunction:
        """A ``ServiceFunction`` for the ``FunctionSpec`` called ``name`` (``environment``: extra
        variables of this function only)."""
        return ServiceFunction(
            self.scope,
            construct_id,
            spec=function_spec(name),
            layer=self.layer,
            defaults=self.defaults,
            environment={**self.environment, **(environment or {})},
            reserved_concurrency=reserved_concurrency,
        )
