"""Analytics migrations: ``migrations/analytics/NNNN_name.sql`` applied once each, in order."""

from __future__ import annotations

import re
from importlib import resources

from skyglass.adapters.analytics.executor import SqlExecutor

_FILE = re.compile(r"^(\d{4})_[\w-]+\.sql$")


def migration_files() -> list[tuple[int, str, str]]:
    """(version, file name, SQL text) for every shipped migration, ascending."""
    root = resources.files("skyglass.migrations") / "analytics"
    out = []
    for entry in root.iterdir():
        match = _FILE.match(entry.name)
        if match:
            out.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(out)


def split_statements(sql: str) -> list[str]:
    """Statements end with ';' at end of line; '--' comment lines are dropped."""
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    parts = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [p.strip() for p in parts if p.strip()]


def apply_migrations(executor: SqlExecutor) -> list[str]:
    """Apply pending migrations; returns the names applied now. Safe to call at every start."""
    executor.command(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, "
        "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY version"
    )
    done = {int(r["version"]) for r in executor.query("SELECT version FROM schema_migrations FINAL")}
    applied = []
    for version, name, sql in migration_files():
        if version in done:
            continue
        for statement in split_statements(sql):
            executor.command(statement)
        executor.insert_rows("schema_migrations", [{"version": version, "name": name}])
        applied.append(name)
    return applied
