"""In-memory fakes of the ports, for unit tests of logic (never the only test of an adapter)."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

from skyglass.domain.pricing_models import ModelPrice
from skyglass.errors import Conflict, NotFound
from skyglass.ports.meta import Organization, Project, StoredApiKey, StoredModel
from skyglass.ports.queue import ReceivedMessage


class FakeBlobStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        self.blobs[key] = bytes(data)

    def get(self, key: str) -> bytes:
        if key not in self.blobs:
            raise NotFound(f"blob not found: {key}")
        return self.blobs[key]

    def list_keys(self, prefix: str = "", start_after: str | None = None) -> Iterator[str]:
        for key in sorted(self.blobs):
            if key.startswith(prefix) and (start_after is None or key > start_after):
                yield key

    def delete(self, key: str) -> None:
        self.blobs.pop(key, None)


class FakeQueue:
    """FIFO with receive counts and a dead-letter list; no visibility timeout (tests release)."""

    def __init__(self, max_receives: int = 5) -> None:
        self.max_receives = max_receives
        self.ready: list[tuple[str, str, int]] = []  # (id, body, receive_count)
        self.in_flight: dict[str, tuple[str, str, int]] = {}
        self.dead: list[tuple[str, str, int]] = []
        self.delayed: list[tuple[float, tuple[str, str, int]]] = []  # (visible at, item)
        self._receipts = itertools.count()
        self._lock = threading.Lock()

    def send(self, body: str) -> str:
        message_id = uuid.uuid4().hex
        with self._lock:
            self.ready.append((message_id, body, 0))
        return message_id

    def send_many(self, bodies: list[str]) -> list[str]:
        return [self.send(b) for b in bodies]

    def receive(self, max_messages: int = 10, wait_seconds: float = 0.0) -> list[ReceivedMessage]:
        out: list[ReceivedMessage] = []
        with self._lock:
            now = time.monotonic()
            due = [item for at, item in self.delayed if at <= now]
            self.delayed = [(at, item) for at, item in self.delayed if at > now]
            self.ready.extend(due)
            while self.ready and len(out) < max_messages:
                message_id, body, count = self.ready.pop(0)
                if count >= self.max_receives:
                    self.dead.append((message_id, body, count))
                    continue
                receipt = f"r{next(self._receipts)}"
                self.in_flight[receipt] = (message_id, body, count + 1)
                out.append(ReceivedMessage(message_id, body, receipt, count + 1))
        return out

    def ack(self, receipts: list[str]) -> None:
        with self._lock:
            for receipt in receipts:
                self.in_flight.pop(receipt, None)

    def release(self, receipt: str, delay_seconds: int = 0) -> None:
        with self._lock:
            item = self.in_flight.pop(receipt, None)
            if item and delay_seconds > 0:
                self.delayed.append((time.monotonic() + delay_seconds, item))
            elif item:
                self.ready.append(item)

    def reclaim_in_flight(self) -> int:
        with self._lock:
            items = list(self.in_flight.values()) + [item for _, item in self.delayed]
            self.in_flight.clear()
            self.delayed.clear()
            self.ready.extend(items)
        return len(items)

    def depth(self) -> int:
        return len(self.ready) + len(self.in_flight) + len(self.delayed)

    def dead_letter_depth(self) -> int:
        return len(self.dead)

    def redrive(self, max_messages: int | None = None) -> int:
        with self._lock:
            moved = self.dead[: len(self.dead) if max_messages is None else max_messages]
            self.dead = self.dead[len(moved) :]
            self.ready.extend((m, b, 0) for m, b, _ in moved)
        return len(moved)


class FakeMetaStore:
    def __init__(self) -> None:
        self.orgs: dict[str, Organization] = {}
        self.projects: dict[str, Project] = {}
        self.keys: dict[str, StoredApiKey] = {}
        self.models: dict[str, StoredModel] = {}
        self.model_reads = 0  # list_models calls, to observe caching

    def migrate(self) -> None:
        return None

    def ensure_organization(self, name: str) -> Organization:
        for org in self.orgs.values():
            if org.name == name:
                return org
        org = Organization(id=uuid.uuid4().hex, name=name, created_at=datetime.now(UTC))
        self.orgs[org.id] = org
        return org

    def ensure_project(self, org_id: str, name: str) -> Project:
        for project in self.projects.values():
            if project.org_id == org_id and project.name == name:
                return project
        project = Project(
            id=uuid.uuid4().hex,
            name=name,
            org_id=org_id,
            org_name=self.orgs[org_id].name,
            created_at=datetime.now(UTC),
        )
        self.projects[project.id] = project
        return project

    def get_project(self, project_id: str) -> Project | None:
        return self.projects.get(project_id)

    def find_project_by_name(self, name: str) -> Project | None:
        return next((p for p in self.projects.values() if p.name == name), None)

    def list_projects(self) -> list[Project]:
        return list(self.projects.values())

    def add_api_key(self, key: StoredApiKey) -> None:
        if key.public_key in self.keys:
            raise Conflict(f"public key exists: {key.public_key}")
        self.keys[key.public_key] = key

    def find_api_key(self, public_key: str) -> StoredApiKey | None:
        return self.keys.get(public_key)

    def list_api_keys(self, project_id: str) -> list[StoredApiKey]:
        return [k for k in self.keys.values() if k.project_id == project_id]

    def revoke_api_key(self, public_key: str) -> bool:
        key = self.keys.get(public_key)
        if key is None:
            return False
        self.keys[public_key] = replace(key, revoked_at=datetime.now(UTC))
        return True

    def list_models(self, project_id: str) -> list[StoredModel]:
        self.model_reads += 1
        own = [m for m in self.models.values() if m.model.project_id == project_id]
        return sorted(own, key=lambda m: (m.model.model_name, m.model.id))

    def get_model(self, project_id: str, model_id: str) -> StoredModel | None:
        stored = self.models.get(model_id)
        return stored if stored is not None and stored.model.project_id == project_id else None

    def put_model(self, project_id: str, model: ModelPrice) -> StoredModel:
        existing = self.models.get(model.id)
        if existing is not None and existing.model.project_id != project_id:
            raise NotFound("No model with this id found.")
        if project_id not in self.projects:
            raise NotFound(f"project not found: {project_id}")
        unit = model.unit or "TOKENS"
        for other in self.models.values():
            o = other.model
            same = (o.project_id, o.model_name, o.start_date, o.unit) == (
                project_id, model.model_name, model.start_date, unit
            )  # fmt: skip
            if same and o.id != model.id:
                raise Conflict(f"A model with modelName {model.model_name!r} already exists (id {o.id}).")
        now = datetime.now(UTC)
        saved = model.model_copy(update={"project_id": project_id, "unit": unit})
        created = existing.created_at if existing is not None else now
        self.models[model.id] = StoredModel(model=saved, created_at=created, updated_at=now)
        return self.models[model.id]

    def delete_model(self, project_id: str, model_id: str) -> bool:
        if self.get_model(project_id, model_id) is None:
            return False
        del self.models[model_id]
        return True

    def close(self) -> None:
        return None
