"""Credentials of the bring-your-own ClickHouse (ClickHouse Cloud or self-managed).

Either an existing secret imported by ARN (``skyglass:clickhouse_secret_arn``), or a new one named
``skyglass:clickhouse_secret_name`` (default ``skyglass/<stage>/clickhouse``) holding
``{"username": "default", "password": <generated>}``: set that password on your ClickHouse user, or
overwrite the secret with your own. The URL without credentials is plain configuration
(``skyglass:clickhouse_url``), so the template never holds a password.
"""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.nag import acknowledge


class ClickHouseSecret(Construct):
    """``secret``: the ClickHouse credentials the functions read at run time."""

    def __init__(self, scope: Construct, construct_id: str, *, secret_arn: str, secret_name: str):
        super().__init__(scope, construct_id)
        self.imported = bool(secret_arn)
        if secret_arn:
            self.secret: secretsmanager.ISecret = secretsmanager.Secret.from_secret_complete_arn(
                self, "Imported", secret_arn
            )
            return
        created = secretsmanager.Secret(
            self,
            "Credentials",
            secret_name=secret_name,
            description="skyglass: ClickHouse credentials (username/password) for the analytics store",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"username": "default"}),
                generate_string_key="password",
                exclude_punctuation=True,
                password_length=32,
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            created,
            "AwsSolutions-SMG4",
            "These are credentials of a ClickHouse service outside AWS: rotating them means "
            "changing the user in ClickHouse first, which Secrets Manager cannot do for us.",
        )
        self.secret = created
