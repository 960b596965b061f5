"""What each Lambda runs and how big it is: ``functions/manifest.py`` first, then the AWS-only extras.

The manifest lists the functions the local server also runs (ingest, api, worker). The functions that
exist only on AWS (the migration custom resource and the evaluation state machine's tasks) have no
route and no queue trigger, so their sizes live here, next to the stacks that create them.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.manifest import FUNCTIONS


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda: ``name`` is the logical name (also the Powertools service suffix)."""

    name: str
    handler: str
    memory_mb: int
    timeout_s: int
    routes: tuple[tuple[str, str], ...] = ()
    batch_size: int = 0  # SQS-triggered functions only
    batching_window_s: int = 0
    layer: str = "full"  # its dependency layer: "full", or the lean "ingest" one


_EVAL = "functions.eval_tasks.handler"

AWS_ONLY: dict[str, FunctionSpec] = {
    # Applies the metadata and analytics migrations; Aurora may need ~30 s to resume from pause.
    "migrate": FunctionSpec("migrate", "functions.migrate.handler.handler", 512, 300),
    "eval_list_items": FunctionSpec("eval_list_items", f"{_EVAL}.list_items", 512, 60),
    # One LLM-as-a-judge call per item: generous timeout, the state machine retries the rest.
    "eval_evaluate_item": FunctionSpec("eval_evaluate_item", f"{_EVAL}.evaluate_item", 512, 300),
    "eval_finalize": FunctionSpec("eval_finalize", f"{_EVAL}.finalize", 512, 120),
    "eval_mark_failed": FunctionSpec("eval_mark_failed", f"{_EVAL}.mark_failed", 256, 30),
}


def function_spec(name: str) -> FunctionSpec:
    """The spec of ``name``: the manifest's entry if it has one, else the AWS-only default."""
    entry = FUNCTIONS.get(name)
    if entry is None:
        return AWS_ONLY[name]
    return FunctionSpec(
        name=name,
        handler=str(entry["handler"]),
        memory_mb=int(entry["memory_mb"]),
        timeout_s=int(entry["timeout_s"]),
        routes=tuple((str(m), str(p)) for m, p in entry.get("routes", ())),
        batch_size=int(entry.get("batch_size", 0)),
        batching_window_s=int(entry.get("batching_window_s", 0)),
        layer=str(entry.get("layer", "full")),
    )


def routed_functions() -> list[FunctionSpec]:
    """The manifest's functions that serve HTTP routes, in manifest order."""
    return [function_spec(name) for name, entry in FUNCTIONS.items() if entry.get("routes")]
