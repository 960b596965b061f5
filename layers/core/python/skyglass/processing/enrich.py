"""Usage and cost of merged observation rows: model match, tokenisation, tier, cost (compat §7.2).

The worker calls ``Enricher.enrich`` on every observation it has just rebuilt with
``domain.merge.merge_observation``. The merge keeps what the client provided
(``provided_usage_details``/``provided_cost_details``); enrichment fills in ``usage_details``,
``cost_details``, ``total_cost``, ``internal_model_id`` and the pricing tier with
``domain.pricing.enrich_observation``:

* models: the project's own models (from the optional ``project_models`` provider, asked once
  per project per batch) take precedence over the shipped default price table;
* usage: provided usage, else token counts of input/output (``processing.tokenize``);
* cost: provided cost wins, else usage times the matched tier's prices.

Deterministic: a model is priced as of the observation's *start time* (never "now") and
tokenisation is offline and pure, so rebuilding a row from the same events — a redelivery, a
replay — gives the same row, as long as the project's models are unchanged (a model added
later re-prices replayed rows, as in Langfuse).

Fast: the regex of every default model is tried once per distinct model *name* (cached), not
once per observation.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from skyglass.domain.pricing import TokenCounter, enrich_observation
from skyglass.domain.pricing_match import pattern_matches
from skyglass.domain.pricing_models import ModelPrice, load_default_models
from skyglass.domain.records import ObservationRecord
from skyglass.errors import StoreUnavailable
from skyglass.processing.tokenize import count_tokens

logger = logging.getLogger(__name__)

# Project id → the project's own priced models (a metadata-store read; the provider may cache).
ProjectModels = Callable[[str], Sequence[ModelPrice]]

_CANDIDATE_CACHE_SIZE = 4096


def _matching(model_name: str, models: Sequence[ModelPrice]) -> list[ModelPrice]:
    """The models whose pattern matches ``model_name``, in their original order."""
    return [model for model in models if pattern_matches(model.match_pattern, model_name)]


class Enricher:
    """Prices observations; receives its price sources, reads nothing at import or construction.

    ``models`` defaults to the shipped price table (loaded on first use), ``tokenizer`` to
    ``count_tokens`` (``None`` disables tokenisation), ``project_models`` to "no project models".
    """

    def __init__(
        self,
        *,
        models: Sequence[ModelPrice] | None = None,
        tokenizer: TokenCounter | None = count_tokens,
        project_models: ProjectModels | None = None,
    ):
        self._models = models
        self._tokenizer = tokenizer
        self._project_models = project_models
        self._candidates: dict[str, list[ModelPrice]] = {}
        self._lock = threading.Lock()

    @property
    def models(self) -> Sequence[ModelPrice]:
        """The default models (the shipped table unless others were given)."""
        if self._models is None:
            self._models = load_default_models()
        return self._models

    def project_models(self, project_id: str) -> Sequence[ModelPrice]:
        """The project's own models; ``StoreUnavailable`` (retry the batch) when they cannot be read.

        Pricing with the wrong table would store wrong costs for good, so a failing provider
        fails the batch retryably instead of being ignored.
        """
        if self._project_models is None:
            return ()
        try:
            return tuple(self._project_models(project_id))
        except StoreUnavailable:
            raise
        except Exception as exc:
            logger.exception("could not read the models of project %s", project_id)
            raise StoreUnavailable(f"could not read the models of project {project_id}") from exc

    def _default_candidates(self, model_name: str) -> list[ModelPrice]:
        found = self._candidates.get(model_name)
        if found is None:
            found = _matching(model_name, self.models)
            with self._lock:
                if len(self._candidates) >= _CANDIDATE_CACHE_SIZE:
                    self._candidates.clear()  # unbounded model names must not grow memory
                self._candidates[model_name] = found
        return found

    def enrich(
        self, record: ObservationRecord, project_models: Sequence[ModelPrice] = ()
    ) -> ObservationRecord:
        """Fill ``record``'s usage, cost, matched model and tier in place (and return it).

        A row without a model name keeps what the merge derived from the provided values: with
        no model there is nothing to match, tokenise or price.
        """
        name = record.provided_model_name
        if not name:
            return record
        own = _matching(name, project_models) if project_models else []
        enrichment = enrich_observation(
            record, self._default_candidates(name), self._tokenizer, project_models=own
        )
        record.usage_details = enrichment.usage_details
        record.cost_details = enrichment.cost_details
        record.total_cost = enrichment.total_cost
        record.internal_model_id = enrichment.internal_model_id
        record.usage_pricing_tier_id = enrichment.tier_id
        record.usage_pricing_tier_name = enrichment.tier_name
        return record
