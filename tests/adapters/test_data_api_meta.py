"""The metadata store over the RDS Data API: the MetaStore contract suites, plus what is Data API only.

The contract tests of ``test_meta_store`` and ``test_meta_models`` run here unchanged against a
``data_api`` backend: ``make_meta_store("aurora-data-api://…")`` with the ``rds-data`` client
replaced by ``FakeRdsData``, which executes every statement on a real throwaway PostgreSQL. So
the Alembic migrations, the reflection Alembic compares against, and every query of the store go
through our DB-API driver, its parameter typing and its transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from skyglass.adapters.meta import data_api
from skyglass.adapters.meta.data_api_dialect import sqlalchemy_url
from skyglass.adapters.meta.data_api_values import JsonText, decode_field, encode_value
from skyglass.adapters.meta.factory import make_meta_store
from skyglass.adapters.meta.store import SqlMetaStore
from skyglass.errors import InvalidRequest, StoreUnavailable
from tests.adapters import test_meta_models as models_suite
from tests.adapters import test_meta_store as store_suite
from tests.support.data_api import CLUSTER_ARN, SECRET_ARN, FakeRdsData, data_api_double

pytestmark = pytest.mark.postgres


@pytest.fixture
def fake(fresh_postgres_url: str) -> Iterator[FakeRdsData]:
    with data_api_double(fresh_postgres_url) as double:
        yield double


# The contract suites' fixtures, bound to the Data API backend for the tests imported below.
@pytest.fixture
def meta_url(fake: FakeRdsData) -> str:
    return fake.url


@pytest.fixture
def store(meta_url: str) -> Iterator[SqlMetaStore]:
    meta = make_meta_store(meta_url)
    meta.migrate()
    yield meta
    meta.close()


@pytest.fixture
def sql_store(store: SqlMetaStore) -> SqlMetaStore:
    return store


test_migrate_is_idempotent_and_matches_the_table_definitions = (
    store_suite.test_migrate_is_idempotent_and_matches_the_table_definitions
)
test_two_processes_migrating_at_once_both_succeed = (
    store_suite.test_two_processes_migrating_at_once_both_succeed
)
test_ensure_organization_and_project_are_idempotent = (
    store_suite.test_ensure_organization_and_project_are_idempotent
)
test_same_project_name_in_two_organisations_are_two_projects = (
    store_suite.test_same_project_name_in_two_organisations_are_two_projects
)
test_ensure_project_in_unknown_organisation_is_not_found = (
    store_suite.test_ensure_project_in_unknown_organisation_is_not_found
)
test_concurrent_ensure_returns_one_row = store_suite.test_concurrent_ensure_returns_one_row
test_project_lookup_by_id_and_name = store_suite.test_project_lookup_by_id_and_name
test_add_find_list_and_revoke_api_keys = store_suite.test_add_find_list_and_revoke_api_keys
test_duplicate_public_key_is_a_conflict = store_suite.test_duplicate_public_key_is_a_conflict
test_key_for_unknown_project_is_not_found = store_suite.test_key_for_unknown_project_is_not_found

test_put_then_get_and_list_round_trip_every_field = (
    models_suite.test_put_then_get_and_list_round_trip_every_field
)
test_put_with_an_existing_id_replaces_the_model_and_keeps_created_at = (
    models_suite.test_put_with_an_existing_id_replaces_the_model_and_keeps_created_at
)
test_same_name_start_date_and_unit_in_one_project_is_a_conflict = (
    models_suite.test_same_name_start_date_and_unit_in_one_project_is_a_conflict
)
test_another_start_date_unit_or_project_is_no_conflict = (
    models_suite.test_another_start_date_unit_or_project_is_no_conflict
)
test_another_projects_model_is_invisible_and_untouchable = (
    models_suite.test_another_projects_model_is_invisible_and_untouchable
)
test_put_for_an_unknown_project_is_not_found = models_suite.test_put_for_an_unknown_project_is_not_found
test_delete_removes_the_model_once = models_suite.test_delete_removes_the_model_once
test_list_is_by_model_name_then_id = models_suite.test_list_is_by_model_name_then_id
test_the_models_table_has_its_unique_key = models_suite.test_the_models_table_has_its_unique_key
test_concurrent_puts_of_one_new_id_all_succeed = models_suite.test_concurrent_puts_of_one_new_id_all_succeed
test_deleting_a_project_removes_its_models = models_suite.test_deleting_a_project_removes_its_models


# -- Data API specifics ---------------------------------------------------------------------------


def test_a_key_lookup_is_one_call_and_a_write_one_transaction(store: SqlMetaStore, fake: FakeRdsData):
    # Given a migrated store with a project (first-connect introspection already done)
    project = store.ensure_project(store.ensure_organization("o").id, "p")
    fake.reset_calls()
    # When a key is looked up
    assert store.find_api_key("pk-sg-missing") is None
    # Then it cost exactly one ExecuteStatement, outside any transaction
    assert [op for op, _ in fake.calls] == ["execute_statement"]
    assert "transactionId" not in fake.calls[0][1]
    # When a key is added
    fake.reset_calls()
    store.add_api_key(store_suite.make_key(project.id))
    # Then the insert ran inside a Data API transaction that was committed
    assert [op for op, _ in fake.calls] == ["begin_transaction", "execute_statement", "commit_transaction"]


def test_a_failed_write_rolls_its_transaction_back(store: SqlMetaStore, fake: FakeRdsData):
    # Given a transaction that inserts an organisation and then fails
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO organizations (id, name, created_at) VALUES ('a', 'x', now())"))
        conn.execute(sa.text("INSERT INTO organizations (id, name, created_at) VALUES ('b', 'x', now())"))
    # Then the transaction was rolled back: the first insert is gone too
    assert fake.count("rollback_transaction") == 1
    assert store.list_projects() == []
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM organizations")).scalar() == 0


def test_a_resuming_cluster_is_a_503_with_retry_after_not_a_wait(store: SqlMetaStore, fake: FakeRdsData):
    # Given Aurora is resuming from auto-pause
    fake.resume_after(1)
    # When the store is used
    with pytest.raises(StoreUnavailable) as info:
        store.find_api_key("pk-sg-x")
    # Then the caller gets a retryable 503 at once, telling clients when to come back
    assert info.value.status == 503
    assert isinstance(info.value, data_api.DatabaseResuming)
    assert info.value.headers == {"Retry-After": str(data_api.RESUME_RETRY_AFTER)}
    # And once resumed, the same store works
    assert store.find_api_key("pk-sg-x") is None


def test_a_resuming_cluster_during_a_write_fails_it_cleanly(store: SqlMetaStore, fake: FakeRdsData):
    # Given Aurora starts resuming when a write begins its transaction
    fake.resume_after(1)
    # Then the write is a 503, nothing is half-done, and a retry succeeds
    with pytest.raises(StoreUnavailable):
        store.ensure_organization("acme")
    assert store.ensure_organization("acme").name == "acme"


def test_provider_errors_are_store_unavailable(fresh_postgres_url: str):
    # Given a store whose secret is not the cluster's (the double answers ForbiddenException)
    with data_api_double(fresh_postgres_url) as double:
        double.secret_arn = SECRET_ARN + "-other"
        meta = make_meta_store(double.url.replace("skyglass-meta-AbCdEf", "nope"))
        # Then the failure is a retryable StoreUnavailable, not a raw botocore error
        with pytest.raises(StoreUnavailable):
            meta.list_projects()
        meta.close()


def test_aurora_data_api_url_becomes_the_dialect_url():
    # Given an aurora-data-api URL without a region
    url = f"aurora-data-api://skyglass?cluster_arn={CLUSTER_ARN}&secret_arn={SECRET_ARN}"
    # Then the SQLAlchemy URL names our dialect, the database and both ARNs
    parsed = sa.make_url(sqlalchemy_url(url))
    assert parsed.drivername == "postgresql+auroradataapi"
    assert parsed.database == "skyglass"
    assert parsed.query["cluster_arn"] == CLUSTER_ARN and parsed.query["secret_arn"] == SECRET_ARN
    # And the connection arguments take the region from the cluster ARN
    store = make_meta_store(url)
    _, kwargs = store.engine.dialect.create_connect_args(parsed)
    assert kwargs == {
        "resource_arn": CLUSTER_ARN,
        "secret_arn": SECRET_ARN,
        "database": "skyglass",
        "region": "us-east-1",
    }
    store.close()


def test_the_stacks_spelling_with_the_cluster_arn_first_is_the_same_url():
    # Given the form the CDK stacks render (cluster ARN as the location, a "+" in the secret name)
    secret = SECRET_ARN.replace("skyglass-meta", "sky+glass")
    url = f"aurora-data-api://{CLUSTER_ARN}/skyglass?secret_arn={secret}"
    # Then it names the same cluster, database and secret (the "+" is not a space)
    parsed = sa.make_url(sqlalchemy_url(url))
    assert (parsed.database, parsed.query["cluster_arn"], parsed.query["secret_arn"]) == (
        "skyglass",
        CLUSTER_ARN,
        secret,
    )


@pytest.mark.parametrize(
    "url",
    [
        f"aurora-data-api://skyglass?secret_arn={SECRET_ARN}",
        f"aurora-data-api://?cluster_arn={CLUSTER_ARN}&secret_arn={SECRET_ARN}",
        f"aurora-data-api://skyglass?cluster_arn={CLUSTER_ARN}&secret_arn={SECRET_ARN}&typo=1",
    ],
    ids=["no-cluster", "no-database", "unknown-option"],
)
def test_incomplete_data_api_urls_are_refused_before_any_call(url: str):
    with pytest.raises(InvalidRequest):
        make_meta_store(url)


@pytest.mark.parametrize(
    ("value", "field", "hint"),
    [
        (None, {"isNull": True}, None),
        (True, {"booleanValue": True}, None),
        (7, {"longValue": 7}, None),
        (0.25, {"doubleValue": 0.25}, None),
        ("x", {"stringValue": "x"}, None),
        (b"\x00\x01", {"blobValue": b"\x00\x01"}, None),
        (Decimal("1.50"), {"stringValue": "1.50"}, "DECIMAL"),
        (JsonText('{"a": 1}'), {"stringValue": '{"a": 1}'}, "JSON"),
        (date(2026, 1, 2), {"stringValue": "2026-01-02"}, "DATE"),
        (time(10, 0, 1, 123456), {"stringValue": "10:00:01.123"}, "TIME"),
        (
            datetime(2026, 1, 2, 12, 0, 1, 123999, tzinfo=timezone(timedelta(hours=2))),
            {"stringValue": "2026-01-02 10:00:01.123"},
            "TIMESTAMP",
        ),
    ],
    ids=lambda v: type(v).__name__,
)
def test_parameters_are_encoded_as_the_data_api_expects(value: Any, field: dict[str, Any], hint: str | None):
    # Aware datetimes are sent in UTC, truncated to the milliseconds the TIMESTAMP hint accepts
    assert encode_value(value) == (field, hint)


def test_result_fields_are_decoded_by_column_type():
    # The Data API drops the fraction's trailing zeros and answers timestamptz in UTC
    assert decode_field({"stringValue": "2019-10-31 09:37:17.31869"}, "timestamptz") == datetime(
        2019, 10, 31, 9, 37, 17, 318690, tzinfo=UTC
    )
    assert decode_field({"stringValue": "2019-10-31 09:37:17"}, "timestamp") == datetime(
        2019, 10, 31, 9, 37, 17
    )
    assert decode_field({"stringValue": "12.50"}, "numeric") == Decimal("12.50")
    assert decode_field({"stringValue": '{"a": 1}'}, "jsonb") == '{"a": 1}'
    assert decode_field({"arrayValue": {"longValues": [1, 2]}}, "_int2") == [1, 2]
    assert decode_field({"isNull": True}, "text") is None


def test_unsupported_parameter_types_are_refused():
    with pytest.raises(TypeError):
        encode_value(object())
