"""The public HTTP API (API Gateway v2): Lambda proxy routes, throttled default stage, access logs.

HTTP APIs have no ``binaryMediaTypes`` setting (that is a REST API feature): with payload format
2.0 API Gateway hands any non-text or content-encoded body (OTLP protobuf, gzip) to Lambda as
base64 with ``isBase64Encoded: true``, and the handlers decode it. So every integration here is
pinned to payload format 2.0.

Authorization is the Langfuse wire protocol's HTTP Basic auth with a project key pair, checked by
the functions themselves against the key projection; there is no API Gateway authorizer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import jsii
from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from stacks.constructs.log_groups import log_group
from stacks.nag import acknowledge

# HTTP API context variables ($context.*) written per request, as one JSON line.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "method": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "error": "$context.error.message",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """Access logs of a stage into ``group``, one JSON object per request."""

    def __init__(self, group: logs.ILogGroup):
        self._destination = apigwv2.LogGroupLogDestination(group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":")))


class PublicHttpApi(Construct):
    """``api`` with one route per ``(method, path, function)`` and its ``$default`` ``stage``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        routes: Sequence[tuple[str, str, lambda_.IFunction]],
        throttle_rate: int,
        throttle_burst: int,
        log_retention_days: int,
        domain_name: str = "",
        certificate_arn: str = "",
    ):
        super().__init__(scope, construct_id)
        self.api = apigwv2.HttpApi(self, "Api", api_name=name, create_default_stage=False)
        self.domain: apigwv2.DomainName | None = None
        if domain_name:
            self.domain = apigwv2.DomainName(
                self,
                "Domain",
                domain_name=domain_name,
                certificate=acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn),
            )
        self.access_logs = log_group(self, "AccessLogs", log_retention_days)
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=throttle_rate, burst_limit=throttle_burst),
            access_log_settings=_AccessLogSettings(self.access_logs),
            domain_mapping=apigwv2.DomainMappingOptions(domain_name=self.domain) if self.domain else None,
        )
        integrations: dict[str, HttpLambdaIntegration] = {}
        for method, path, function in routes:
            key = function.node.path
            if key not in integrations:
                integrations[key] = HttpLambdaIntegration(
                    f"Integration{len(integrations)}",
                    function,
                    payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
                    timeout=Duration.seconds(29),
                )
            self.api.add_routes(
                path=path, methods=[apigwv2.HttpMethod(method)], integration=integrations[key]
            )
        acknowledge(
            self.api,
            "AwsSolutions-APIG4",
            "Clients authenticate with the Langfuse wire protocol's HTTP Basic auth (project key "
            "pair), which the functions verify against the key projection; an API Gateway "
            "authorizer cannot speak that protocol and would add a second invocation per request.",
        )

    @property
    def url(self) -> str:
        """The base URL clients use (``LANGFUSE_BASE_URL``): the custom domain if there is one."""
        if self.domain is not None:
            return f"https://{self.domain.name}"
        return self.api.api_endpoint
