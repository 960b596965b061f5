"""The public API: the lean ingest function, the api function and the HTTP API in front of them."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.config import SkyglassConfig
from stacks.constructs.data_access import DataResources
from stacks.constructs.http_api import PublicHttpApi
from stacks.constructs.service_function import FunctionFactory
from stacks.specs import routed_functions

OTLP_PATH = "/api/public/otel"


class ApiStack(Stack):
    """``functions`` (ingest, api) and ``http`` (the HTTP API)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: SkyglassConfig,
        data: DataResources,
        **kwargs: Any,
    ):
        super().__init__(scope, construct_id, **kwargs)
        factory = FunctionFactory(self, config=config, environment=data.environment())

        # Ingest: authenticate against the key projection, write one blob, enqueue. Never Aurora.
        ingest_environment = {} if config.ingest_tracer else {"POWERTOOLS_TRACE_DISABLED": "true"}
        ingest = factory.make("Ingest", "ingest", environment=ingest_environment).function
        data.grant_raw_write(ingest)
        data.grant_keys_read(ingest)
        data.grant_enqueue(ingest)

        # Everything else of the public API: metadata, analytics reads, key management.
        api = factory.make("Api", "api").function
        data.grant_meta(api)
        data.grant_analytics(api)
        data.grant_keys_write(api)

        self.functions: dict[str, lambda_.Function] = {"ingest": ingest, "api": api}
        routes = [
            (method, path, self.functions[spec.name])
            for spec in routed_functions()
            for method, path in spec.routes
        ]
        self.http = PublicHttpApi(
            self,
            "Http",
            name=f"skyglass-{config.stage}",
            routes=routes,
            throttle_rate=config.api_throttle_rate,
            throttle_burst=config.api_throttle_burst,
            log_retention_days=config.log_retention_days,
            domain_name=config.domain_name,
            certificate_arn=config.certificate_arn,
        )
        CfnOutput(self, "BaseUrl", value=self.http.url, description="LANGFUSE_BASE_URL for SDKs")
        CfnOutput(
            self,
            "OtlpEndpoint",
            value=f"{self.http.url}{OTLP_PATH}",
            description="OTEL_EXPORTER_OTLP_ENDPOINT for OpenTelemetry exporters",
        )
        if self.http.domain is not None:
            CfnOutput(
                self,
                "DomainTarget",
                value=self.http.domain.regional_domain_name,
                description="Point a CNAME (or alias) for the custom domain here",
            )
