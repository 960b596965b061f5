"""Key management use cases (auth/keys.py) and headless init at start (auth/init.py), over fakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from skyglass.auth.init import InitResult, initialise
from skyglass.auth.keys import create_key_pair, revoke_key
from skyglass.domain.keys import verify_secret
from skyglass.errors import Conflict, InvalidRequest
from skyglass.settings import Settings
from tests.support.fakes import FakeMetaStore


def settings(**overrides: str) -> Settings:
    # Explicit empty init values so a developer's SKYGLASS_INIT_* environment cannot leak in.
    values: dict[str, str] = {
        "init_org_name": "",
        "init_project_name": "",
        "init_public_key": "",
        "init_secret_key": "",
        "key_salt": "pepper",
    }
    values.update(overrides)
    return Settings(data_dir=Path("unused"), **values)  # type: ignore[arg-type]


# -- create_key_pair / revoke_key -------------------------------------------------------------


def test_create_key_pair_creates_org_project_and_a_hashed_key():
    # Given an empty store
    meta = FakeMetaStore()
    # When a key pair is created for a new project
    pair = create_key_pair(meta, "web", org_name="acme", note="ci", pepper="pepper")
    # Then organisation, project and key exist; only the hash of the secret is stored
    assert pair.created is True
    assert (pair.project.name, pair.project.org_name) == ("web", "acme")
    stored = meta.find_api_key(pair.public_key)
    assert stored is not None
    assert stored.project_id == pair.project.id
    assert stored.note == "ci"
    assert pair.secret_key not in stored.secret_hash
    assert verify_secret(pair.secret_key, stored.secret_hash, "pepper")
    assert stored.display_secret_key == f"{pair.secret_key[:6]}...{pair.secret_key[-4:]}"
    assert pair.public_key.startswith("pk-sg-") and pair.secret_key.startswith("sk-sg-")


def test_create_key_pair_with_given_keys_is_idempotent():
    # Given a pair created with chosen keys
    meta = FakeMetaStore()
    first = create_key_pair(meta, "p", public_key="pk-lf-1", secret_key="sk-lf-1")
    # When the very same pair is created again
    again = create_key_pair(meta, "p", public_key="pk-lf-1", secret_key="sk-lf-1")
    # Then it is returned, unchanged, and nothing was added
    assert again.created is False
    assert (again.public_key, again.secret_key, again.project) == ("pk-lf-1", "sk-lf-1", first.project)
    assert len(meta.keys) == 1
    assert len(meta.projects) == 1


def test_existing_public_key_with_another_secret_is_a_conflict():
    meta = FakeMetaStore()
    create_key_pair(meta, "p", public_key="pk-lf-1", secret_key="sk-lf-1")
    with pytest.raises(Conflict, match="different secret"):
        create_key_pair(meta, "p", public_key="pk-lf-1", secret_key="sk-lf-2")


def test_existing_public_key_in_another_project_is_a_conflict():
    meta = FakeMetaStore()
    create_key_pair(meta, "p", public_key="pk-lf-1", secret_key="sk-lf-1")
    with pytest.raises(Conflict, match="another project"):
        create_key_pair(meta, "q", public_key="pk-lf-1", secret_key="sk-lf-1")


def test_recreating_a_revoked_pair_is_a_conflict():
    meta = FakeMetaStore()
    create_key_pair(meta, "p", public_key="pk-lf-1", secret_key="sk-lf-1")
    revoke_key(meta, "pk-lf-1")
    with pytest.raises(Conflict, match="revoked"):
        create_key_pair(meta, "p", public_key="pk-lf-1", secret_key="sk-lf-1")


@pytest.mark.parametrize(
    ("public", "secret"),
    [("pk:with-colon", "sk"), ("pk with space", "sk"), ("pk", "sk with space"), ("x" * 300, "sk")],
)
def test_unusable_keys_are_invalid(public: str, secret: str):
    with pytest.raises(InvalidRequest):
        create_key_pair(FakeMetaStore(), "p", public_key=public, secret_key=secret)


def test_empty_project_name_is_invalid():
    with pytest.raises(InvalidRequest):
        create_key_pair(FakeMetaStore(), "  ")


def test_revoke_key_marks_it_revoked_and_reports_unknown_keys():
    meta = FakeMetaStore()
    pair = create_key_pair(meta, "p")
    assert revoke_key(meta, pair.public_key) is True
    stored = meta.find_api_key(pair.public_key)
    assert stored is not None and stored.revoked_at is not None
    assert revoke_key(meta, "pk-sg-missing") is False


# -- initialise -------------------------------------------------------------------------------


def test_first_start_creates_default_project_and_prints_a_fresh_secret():
    # Given an empty store and no SKYGLASS_INIT_*
    meta = FakeMetaStore()
    # When the server starts for the first time
    result = initialise(meta, settings())
    # Then org and project "default" exist with one key whose secret is handed back once
    assert (result.created, result.source) == (True, "first_start")
    assert (result.project.name, result.project.org_name) == ("default", "default")
    assert result.public_key is not None and result.secret_key is not None
    stored = meta.find_api_key(result.public_key)
    assert stored is not None and verify_secret(result.secret_key, stored.secret_hash, "pepper")
    lines = "\n".join(result.lines("http://127.0.0.1:3000"))
    assert f"LANGFUSE_SECRET_KEY={result.secret_key}" in lines
    assert f"LANGFUSE_PUBLIC_KEY={result.public_key}" in lines
    assert "LANGFUSE_BASE_URL=http://127.0.0.1:3000" in lines


def test_later_starts_report_the_existing_key_without_secret():
    # Given a store initialised once
    meta = FakeMetaStore()
    first = initialise(meta, settings())
    # When the server starts again
    later = initialise(meta, settings())
    # Then nothing is created and no secret is shown
    assert (later.created, later.source, later.secret_key) == (False, "existing", None)
    assert later.project == first.project
    assert later.public_key == first.public_key
    assert len(meta.keys) == 1
    assert "LANGFUSE_SECRET_KEY" not in "\n".join(later.lines())


def test_later_start_with_every_key_revoked_says_how_to_create_one():
    meta = FakeMetaStore()
    first = initialise(meta, settings())
    assert first.public_key is not None
    revoke_key(meta, first.public_key)
    later = initialise(meta, settings())
    assert later.public_key is None
    assert any("skyglass keys create" in line for line in later.lines())


def test_env_init_ensures_org_project_and_keys_idempotently():
    # Given SKYGLASS_INIT_* with names and a key pair
    meta = FakeMetaStore()
    env = settings(
        init_org_name="acme", init_project_name="web", init_public_key="pk-lf-x", init_secret_key="sk-lf-x"
    )
    # When applied at two starts
    first = initialise(meta, env)
    second = initialise(meta, env)
    # Then the pair works, was created once, and the operator's secret is never echoed
    assert (first.created, second.created) == (True, False)
    assert first.source == second.source == "env"
    assert (first.project.org_name, first.project.name, first.public_key) == ("acme", "web", "pk-lf-x")
    assert first.secret_key is None and second.secret_key is None
    stored = meta.find_api_key("pk-lf-x")
    assert stored is not None and verify_secret("sk-lf-x", stored.secret_hash, "pepper")
    assert len(meta.keys) == 1


def test_env_init_keys_only_uses_default_names():
    meta = FakeMetaStore()
    result = initialise(meta, settings(init_public_key="pk-lf-y", init_secret_key="sk-lf-y"))
    assert (result.project.org_name, result.project.name) == ("default", "default")


@pytest.mark.parametrize("given", ["init_public_key", "init_secret_key"])
def test_env_init_with_only_one_key_is_a_clear_error(given: str):
    with pytest.raises(InvalidRequest, match="must be set together") as info:
        initialise(FakeMetaStore(), settings(**{given: "value"}))
    assert f"only SKYGLASS_{given.upper()} is set" in info.value.message


def test_env_init_with_a_clashing_secret_is_a_conflict():
    meta = FakeMetaStore()
    initialise(meta, settings(init_public_key="pk-lf-x", init_secret_key="sk-lf-x"))
    with pytest.raises(Conflict):
        initialise(meta, settings(init_public_key="pk-lf-x", init_secret_key="sk-lf-other"))


def test_env_init_with_names_only_generates_one_key_then_reuses_it():
    # Given only organisation and project names
    meta = FakeMetaStore()
    env = settings(init_org_name="acme", init_project_name="web")
    # When applied at two starts
    first = initialise(meta, env)
    second = initialise(meta, env)
    # Then a key is generated once (secret shown once) and reported later without secret
    assert first.created is True and first.secret_key is not None
    assert (second.created, second.secret_key, second.public_key) == (False, None, first.public_key)
    assert (second.project.org_name, second.project.name) == ("acme", "web")
    assert len(meta.keys) == 1


def test_init_result_lines_name_the_project():
    meta = FakeMetaStore()
    result: InitResult = initialise(meta, settings())
    assert (result.org_name, result.project_name, result.project_id) == (
        "default",
        "default",
        result.project.id,
    )
    assert result.project.id in result.lines()[0]
    assert '"default"' in result.lines()[0]
