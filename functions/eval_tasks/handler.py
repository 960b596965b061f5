"""Evaluation run steps, called as Step Functions tasks: list → evaluate each (Map) → finalize.

State machine contract (``stacks/constructs/eval_workflow.py``): ``list_items`` gets the execution
input and returns ``{"runId", "items"}``; a Map state calls ``evaluate_item`` per item with
``{"runId", "item"}`` and discards the results; ``finalize`` gets the state after the Map
(``{"runId", "items"}``); any failure is caught into ``mark_failed`` with the error under
``error`` (``{"Error", "Cause"}``), and the run ends in a Fail state.

The work here is a deterministic placeholder, enough to exercise the state machine end to end
(token-overlap F1 of an item's ``output`` against its ``expectedOutput``, no LLM calls); the
evaluations issue replaces it with the evaluation use cases behind the same four entry points.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from aws_lambda_powertools import Logger

from skyglass.errors import InvalidRequest

logger = Logger()

SCORE_NAME = "token_f1"
MAX_ITEMS = 1000
_TOKEN = re.compile(r"\w+", re.UNICODE)


def _tokens(value: Any) -> list[str]:
    return _TOKEN.findall(str(value).lower()) if value is not None else []


def token_f1(output: Any, expected: Any) -> float:
    """Token-overlap F1 of two values (1.0 for equal token bags, 0.0 when nothing overlaps)."""
    got, want = _tokens(output), _tokens(expected)
    if not got and not want:
        return 1.0
    common = sum(min(got.count(token), want.count(token)) for token in set(got))
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return round(2 * precision * recall / (precision + recall), 6)


def list_items(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Execution input ``{"runId"?, "items": [{"id", "output", "expectedOutput"?, …}]}`` → the run's items."""
    items = event.get("items")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise InvalidRequest("an evaluation run needs `items`: a list of objects")
    if len(items) > MAX_ITEMS:
        raise InvalidRequest(f"an evaluation run takes at most {MAX_ITEMS} items")
    run_id = str(event.get("runId") or uuid.uuid4().hex)
    listed = [{**item, "id": str(item.get("id") or index)} for index, item in enumerate(items)]
    return {"runId": run_id, "items": listed}


def evaluate_item(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """One item (or ``{"runId", "item"}``) → ``{"runId", "itemId", "name", "value"}``."""
    item = event.get("item", event)
    if not isinstance(item, dict) or "output" not in item:
        raise InvalidRequest("an evaluation item needs an `output`")
    value = token_f1(item["output"], item.get("expectedOutput"))
    return {
        "runId": event.get("runId"),
        "itemId": str(item.get("id", "")),
        "name": SCORE_NAME,
        "value": value,
    }


def finalize(event: Any, context: Any = None) -> dict[str, Any]:
    """The run's state after the Map → the run's summary.

    The eval stack's Map discards per-item results (each evaluation will store its own scores), so
    the state is still ``{"runId", "items"}``: this placeholder recomputes the deterministic scores
    from the items (the evaluations issue reads the stored scores instead). Results handed over
    as a list, or under ``results``, are summarised as they are.
    """
    run_id = event.get("runId") if isinstance(event, dict) else None
    if isinstance(event, list) or "results" in event:
        results = event if isinstance(event, list) else event["results"]
        values = [float(r["value"]) for r in results if isinstance(r, dict) and "value" in r]
        run_id = run_id or next((r.get("runId") for r in results if isinstance(r, dict)), None)
    else:
        values = [evaluate_item({"runId": run_id, "item": item})["value"] for item in event.get("items", [])]
    summary: dict[str, Any] = {"runId": run_id, "status": "SUCCEEDED", "itemCount": len(values)}
    if values:
        summary["scores"] = {
            SCORE_NAME: {"mean": round(sum(values) / len(values), 6), "min": min(values), "max": max(values)}
        }
    logger.info("evaluation run finished", extra={"run_id": run_id, "items": len(values)})
    return summary


def mark_failed(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The caught error (``{"error": {"Error", "Cause"}}``) → the run marked failed."""
    error = event.get("error") or {}
    failed = {
        "runId": event.get("runId"),
        "status": "FAILED",
        "error": str(error.get("Error", "Unknown")),
        "cause": str(error.get("Cause", ""))[:1000],
    }
    logger.warning("evaluation run failed", extra=failed)
    return failed
