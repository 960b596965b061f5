"""Headless initialisation, applied at every start: make sure there is a project and a usable key.

Two modes:

* ``SKYGLASS_INIT_*`` set: ensure that organisation, project and (if given) key pair exist.
  Idempotent, so the same environment can be applied at every start (like Langfuse's
  ``LANGFUSE_INIT_*``).
* nothing set: on the very first start (no project at all) create org "default", project
  "default" and a fresh key pair, and hand the secret back once so the server can print it.
  Later starts only report the existing project and its first active public key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from skyglass.auth.keys import active_keys, create_key_pair
from skyglass.errors import InvalidRequest
from skyglass.ports.meta import MetaStore, Project

if TYPE_CHECKING:
    from skyglass.settings import Settings

DEFAULT_ORG = "default"
DEFAULT_PROJECT = "default"

InitSource = Literal["env", "first_start", "existing"]


@dataclass(frozen=True, slots=True)
class InitResult:
    """What the server reports at start.

    ``secret_key`` is set only when this start generated the pair (print it once: it is stored
    hashed). ``public_key`` is None only for a project whose keys were all revoked.
    """

    project: Project
    public_key: str | None
    secret_key: str | None
    created: bool
    source: InitSource

    @property
    def project_id(self) -> str:
        return self.project.id

    @property
    def project_name(self) -> str:
        return self.project.name

    @property
    def org_name(self) -> str:
        return self.project.org_name

    def lines(self, base_url: str | None = None) -> list[str]:
        """Human-readable lines for the start-up banner (no secret unless just generated)."""
        out = [
            f'Project "{self.project.name}" (id {self.project.id}) in organization "{self.project.org_name}"'
        ]
        if base_url:
            out.append(f"  LANGFUSE_BASE_URL={base_url}")
        if self.public_key:
            out.append(f"  LANGFUSE_PUBLIC_KEY={self.public_key}")
        else:
            out.append("  No active API key: create one with `skyglass keys create`.")
        if self.secret_key:
            out.append(f"  LANGFUSE_SECRET_KEY={self.secret_key}")
            out.append("  The secret key is shown only now; store it safely.")
        return out


def _first_public_key(meta: MetaStore, project: Project) -> str | None:
    keys = active_keys(meta, project.id)
    return keys[0].public_key if keys else None


def _from_env(meta: MetaStore, settings: Settings) -> InitResult:
    org_name = settings.init_org_name.strip() or DEFAULT_ORG
    project_name = settings.init_project_name.strip() or DEFAULT_PROJECT
    public_key = settings.init_public_key.strip()
    secret_key = settings.init_secret_key.strip()
    if bool(public_key) != bool(secret_key):
        raise InvalidRequest(
            "SKYGLASS_INIT_PUBLIC_KEY and SKYGLASS_INIT_SECRET_KEY must be set together "
            f"(only {'SKYGLASS_INIT_PUBLIC_KEY' if public_key else 'SKYGLASS_INIT_SECRET_KEY'} is set)"
        )
    if public_key:
        pair = create_key_pair(
            meta,
            project_name,
            org_name=org_name,
            public_key=public_key,
            secret_key=secret_key,
            note="headless init",
            pepper=settings.key_salt,
        )
        # The operator chose the secret; never echo it back into logs.
        return InitResult(pair.project, pair.public_key, None, pair.created, "env")
    project = meta.ensure_project(meta.ensure_organization(org_name).id, project_name)
    existing = _first_public_key(meta, project)
    if existing is not None:
        return InitResult(project, existing, None, False, "env")
    # Names only and no usable key yet: generate one, or the project could not be used at all.
    pair = create_key_pair(
        meta, project_name, org_name=org_name, note="generated at start", pepper=settings.key_salt
    )
    return InitResult(pair.project, pair.public_key, pair.secret_key, True, "env")


def initialise(meta: MetaStore, settings: Settings) -> InitResult:
    """Apply headless init (see module docstring); safe to call at every start.

    Raises ``InvalidRequest`` when only one of the init public/secret keys is set, and
    ``Conflict`` when the init public key exists with another secret.
    """
    if any(
        value.strip()
        for value in (
            settings.init_org_name,
            settings.init_project_name,
            settings.init_public_key,
            settings.init_secret_key,
        )
    ):
        return _from_env(meta, settings)

    projects = meta.list_projects()
    if projects:
        project = projects[0]
        return InitResult(project, _first_public_key(meta, project), None, False, "existing")

    project = meta.ensure_project(meta.ensure_organization(DEFAULT_ORG).id, DEFAULT_PROJECT)
    # Two processes doing their first start together: the later one reuses the earlier key.
    existing = _first_public_key(meta, project)
    if existing is not None:
        return InitResult(project, existing, None, False, "existing")
    pair = create_key_pair(
        meta, DEFAULT_PROJECT, org_name=DEFAULT_ORG, note="generated at first start", pepper=settings.key_salt
    )
    return InitResult(pair.project, pair.public_key, pair.secret_key, True, "first_start")
