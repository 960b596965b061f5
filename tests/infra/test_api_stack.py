"""The public API: routes from the manifest, payload 2.0, throttled logged stage, lean least-privilege functions."""

from __future__ import annotations

import json

from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from functions.manifest import FUNCTIONS
from stacks.composition import cdk_json_context, compose
from stacks.constructs.http_api import PublicHttpApi
from tests.infra.conftest import (
    CLICKHOUSE_URL,
    Synth,
    actions_of,
    app_context,
    function_by_handler,
    only,
    policy_statements,
    resources,
)


def test_routes_match_the_manifest_exactly(synth: Synth) -> None:
    # Given the manifest's routes (the health check among them)
    expected = {f"{m} {p}" for entry in FUNCTIONS.values() for m, p in entry.get("routes", [])}
    assert "GET /api/public/health" in expected
    # When the API stack is synthesized
    routes = resources(synth.template_json("api"), "AWS::ApiGatewayV2::Route")
    # Then its route keys are exactly those
    assert {r["Properties"]["RouteKey"] for r in routes.values()} == expected


def test_each_route_reaches_the_function_the_manifest_names(synth: Synth) -> None:
    # Given the API template
    template = synth.template_json("api")
    integrations = resources(template, "AWS::ApiGatewayV2::Integration")
    target_of = {k: json.dumps(i["Properties"]["IntegrationUri"]) for k, i in integrations.items()}
    ingest_id, _ = function_by_handler(template, FUNCTIONS["ingest"]["handler"])
    api_id, _ = function_by_handler(template, FUNCTIONS["api"]["handler"])
    # Then ingestion routes go to ingest and everything else to api
    for route in resources(template, "AWS::ApiGatewayV2::Route").values():
        integration = route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
        method, path = route["Properties"]["RouteKey"].split(" ")
        wanted = ingest_id if (method, path) in FUNCTIONS["ingest"]["routes"] else api_id
        assert wanted in target_of[integration], route["Properties"]["RouteKey"]


def test_integrations_use_payload_format_2_so_binary_bodies_arrive_base64(synth: Synth) -> None:
    # Given the API template (HTTP APIs have no binaryMediaTypes: 2.0 base64-encodes binary bodies)
    template = synth.template("api")
    # Then every integration is a Lambda proxy with payload format 2.0 within API Gateway's 30 s
    template.all_resources_properties(
        "AWS::ApiGatewayV2::Integration",
        {"IntegrationType": "AWS_PROXY", "PayloadFormatVersion": "2.0", "TimeoutInMillis": 29000},
    )
    template.resource_count_is("AWS::ApiGatewayV2::Api", 1)
    template.has_resource_properties("AWS::ApiGatewayV2::Api", {"ProtocolType": "HTTP"})


def test_default_stage_is_throttled_and_access_logged(synth: Synth) -> None:
    # Given the API template
    template = synth.template_json("api")
    stage = only(template, "AWS::ApiGatewayV2::Stage")["Properties"]
    # Then the $default stage auto-deploys with burst/rate limits and JSON access logs to a log group
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 1000, "ThrottlingRateLimit": 500}
    fields = json.loads(stage["AccessLogSettings"]["Format"])
    assert {"requestId", "ip", "routeKey", "status", "integrationError"} <= set(fields)
    group = stage["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert template["Resources"][group]["Properties"]["RetentionInDays"] == 30


def test_functions_are_arm64_python_313_sized_by_the_manifest_and_traced(synth: Synth) -> None:
    # Given the API template
    template = synth.template_json("api")
    for name in ("ingest", "api"):
        _, function = function_by_handler(template, FUNCTIONS[name]["handler"])
        props = function["Properties"]
        # Then each function matches its manifest entry and the shared defaults
        assert props["Architectures"] == ["arm64"]
        assert props["Runtime"] == "python3.13"
        assert props["MemorySize"] == FUNCTIONS[name]["memory_mb"]
        assert props["Timeout"] == FUNCTIONS[name]["timeout_s"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert len(props["Layers"]) == 2
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == f"skyglass-{name}"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Skyglass"
        assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
        assert env["SKYGLASS_ANALYTICS_URL"] == CLICKHOUSE_URL
        for var in (
            "SKYGLASS_BLOB_URL",
            "SKYGLASS_QUEUE_URL",
            "SKYGLASS_META_URL",
            "SKYGLASS_AURORA_CLUSTER_ARN",
            "SKYGLASS_AURORA_SECRET_ARN",
            "SKYGLASS_AURORA_DATABASE",
            "SKYGLASS_KEYS_URL",
        ):
            assert var in env, var


def test_queue_url_carries_the_url_encoded_dead_letter_queue(synth: Synth) -> None:
    # Given the ingest function's environment
    _, ingest = function_by_handler(synth.template_json("api"), FUNCTIONS["ingest"]["handler"])
    parts = ingest["Properties"]["Environment"]["Variables"]["SKYGLASS_QUEUE_URL"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "<token>" for p in parts)
    # Then it is "<queue url>?dlq=https%3A%2F%2Fsqs.<region>.<suffix>%2F<account>%2F<dlq name>"
    assert text == "<token>?dlq=https%3A%2F%2Fsqs.<token>.<token>%2F<token>%2F<token>"
    assert {"Ref": "AWS::URLSuffix"} in parts


def test_meta_url_names_the_cluster_database_and_secret(synth: Synth) -> None:
    # Given the api function's environment
    _, api = function_by_handler(synth.template_json("api"), FUNCTIONS["api"]["handler"])
    env = api["Properties"]["Environment"]["Variables"]
    meta = "".join(p if isinstance(p, str) else "<t>" for p in env["SKYGLASS_META_URL"]["Fn::Join"][1])
    # Then it reads aurora-data-api://<cluster arn>/<database>?secret_arn=<secret arn>
    assert meta == "aurora-data-api://arn:<t>:rds:<t>:<t>:cluster:<t>/skyglass?secret_arn=<t>"
    assert env["SKYGLASS_AURORA_DATABASE"] == "skyglass"


def test_ingest_may_write_raw_events_enqueue_and_read_keys_but_not_touch_aurora(synth: Synth) -> None:
    # Given the ingest function's role
    template = synth.template_json("api")
    _, ingest = function_by_handler(template, FUNCTIONS["ingest"]["handler"])
    statements = policy_statements(template, ingest["Properties"]["Role"]["Fn::GetAtt"][0])
    actions = actions_of(statements)
    # Then it can put raw objects, send messages, read queue depth and the key projection
    assert {"s3:PutObject", "sqs:SendMessage", "sqs:GetQueueAttributes", "s3:GetObject"} <= actions
    # And nothing that would wake or read Aurora, ClickHouse credentials or delete anything
    assert not any(a.startswith(("rds-data:", "secretsmanager:")) for a in actions)
    assert not any("Delete" in a for a in actions)
    put = next(s for s in statements if s["Action"] == "s3:PutObject")
    assert json.dumps(put["Resource"]).endswith('/raw/*"]]}')


def test_api_function_uses_the_data_api_and_both_secrets(synth: Synth) -> None:
    # Given the api function's role
    template = synth.template_json("api")
    _, api = function_by_handler(template, FUNCTIONS["api"]["handler"])
    actions = actions_of(policy_statements(template, api["Properties"]["Role"]["Fn::GetAtt"][0]))
    # Then it may run Data API statements and read secrets, but not enqueue or write raw events
    assert {"rds-data:ExecuteStatement", "secretsmanager:GetSecretValue", "s3:GetObject"} <= actions
    assert "sqs:SendMessage" not in actions


def test_function_roles_log_to_their_own_group_without_managed_policies(synth: Synth) -> None:
    # Given the API template's roles
    template = synth.template_json("api")
    for role in resources(template, "AWS::IAM::Role").values():
        # Then none uses an AWS managed policy (logging is scoped to the function's own log group)
        assert "ManagedPolicyArns" not in role["Properties"]


def test_custom_domain_maps_the_default_stage() -> None:
    # Given a public API with a custom domain and a certificate (a small stack of its own)
    app = App(context=cdk_json_context())
    stack = Stack(app, "DomainTest")
    function = lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="x.handler",
        code=lambda_.Code.from_inline("x"),
    )
    PublicHttpApi(
        stack,
        "Http",
        name="t",
        routes=[("POST", "/api/public/ingestion", function)],
        throttle_rate=10,
        throttle_burst=20,
        log_retention_days=7,
        domain_name="obs.example.com",
        certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/abc",
    )
    # When it is synthesized
    template = Template.from_stack(stack)
    # Then the domain uses the certificate and is mapped to the $default stage
    template.has_resource_properties(
        "AWS::ApiGatewayV2::DomainName",
        {
            "DomainName": "obs.example.com",
            "DomainNameConfigurations": [
                Match.object_like({"CertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc"})
            ],
        },
    )
    template.has_resource_properties("AWS::ApiGatewayV2::ApiMapping", {"Stage": Match.any_value()})


def test_the_ingest_function_runs_without_the_x_ray_sdk_unless_asked(synth: Synth, tmp_path) -> None:
    # Given the default API template
    template = synth.template_json("api")
    env_of = {
        name: function_by_handler(template, FUNCTIONS[name]["handler"])[1]["Properties"]["Environment"][
            "Variables"
        ]
        for name in ("ingest", "api")
    }
    # Then only ingest skips Powertools' Tracer (its cold start); both stay actively traced
    assert env_of["ingest"]["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert "POWERTOOLS_TRACE_DISABLED" not in env_of["api"]
    # When the deployment asks for the tracer on ingest too
    app = App(
        outdir=str(tmp_path / "out"),
        context=app_context(tmp_path / "none", **{"skyglass:ingest_tracer": "true"}),
    )
    stacks = compose(app)
    ingest = function_by_handler(Template.from_stack(stacks.api).to_json(), FUNCTIONS["ingest"]["handler"])[1]
    # Then the variable is gone
    assert "POWERTOOLS_TRACE_DISABLED" not in ingest["Properties"]["Environment"]["Variables"]
