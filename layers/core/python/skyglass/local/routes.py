"""API Gateway's route selection for ``skyglass serve``, over the routes of ``functions/manifest.py``.

The HTTP API on AWS has exactly the manifest's routes; the local server routes the same table the
same way, so a path that would 404 at API Gateway 404s locally too (with API Gateway's body,
``{"message":"Not Found"}``) and the handler sees the same ``routeKey``. HTTP APIs choose, in order:

1. a route whose path matches fully (literal segments, ``{name}`` for one segment), its own method
   before ``ANY``;
2. a route ending in a greedy ``{name+}`` (the non-empty rest of the path), the longest prefix
   first, its own method before ``ANY``;
3. ``$default``, which skyglass does not define: nothing else matches, so 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from functions.manifest import FUNCTIONS

NOT_FOUND_BODY = b'{"message":"Not Found"}'


@dataclass(frozen=True, slots=True)
class Route:
    """One route: ``method`` (or ``ANY``), ``path`` and the manifest function that serves it."""

    method: str
    path: str
    function: str

    @property
    def key(self) -> str:
        """The route key API Gateway puts in the event (``"POST /api/public/ingestion"``)."""
        return f"{self.method} {self.path}"

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path[1:].split("/"))

    @property
    def greedy(self) -> bool:
        last = self.segments[-1]
        return last.startswith("{") and last.endswith("+}")

    def matches(self, method: str, parts: tuple[str, ...]) -> bool:
        if self.method not in ("ANY", method.upper()):
            return False
        pattern = self.segments
        if self.greedy:
            prefix = pattern[:-1]
            rest = "/".join(parts[len(prefix) :])
            return (
                len(parts) > len(prefix)
                and bool(rest)
                and all(_segment_matches(p, s) for p, s in zip(prefix, parts, strict=False))
            )
        return len(parts) == len(pattern) and all(
            _segment_matches(p, s) for p, s in zip(pattern, parts, strict=True)
        )

    def path_parameters(self, parts: tuple[str, ...]) -> dict[str, str]:
        """The values of the route's path variables (decoded, as API Gateway passes them)."""
        out: dict[str, str] = {}
        for index, pattern in enumerate(self.segments):
            if pattern.startswith("{") and pattern.endswith("+}"):
                out[pattern[1:-2]] = unquote("/".join(parts[index:]))
            elif pattern.startswith("{") and pattern.endswith("}"):
                out[pattern[1:-1]] = unquote(parts[index])
        return out

    def rank(self) -> tuple[int, int, int, int]:
        """Higher is more specific: full matches first, then longer, more literal, own method."""
        literal = sum(1 for s in self.segments if not s.startswith("{"))
        return (int(not self.greedy), len(self.segments), literal, int(self.method != "ANY"))


def _segment_matches(pattern: str, segment: str) -> bool:
    if pattern.startswith("{") and pattern.endswith("}"):
        return bool(segment)
    return pattern == segment


def manifest_routes() -> list[Route]:
    """Every route of every function in ``functions/manifest.py``, in manifest order."""
    return [
        Route(str(method).upper(), str(path), name)
        for name, entry in FUNCTIONS.items()
        for method, path in entry.get("routes", ())
    ]


class RouteTable:
    """Selects the route of a request as an HTTP API does (see the module docstring)."""

    def __init__(self, routes: Iterable[Route] | None = None):
        self.routes = list(manifest_routes() if routes is None else routes)

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The route serving ``method path`` and its path parameters, or None (API Gateway's 404)."""
        if not path.startswith("/"):
            return None
        parts = tuple(path[1:].split("/"))
        candidates = [route for route in self.routes if route.matches(method, parts)]
        route = max(candidates, key=Route.rank, default=None)
        return None if route is None else RouteMatch(route, route.path_parameters(parts))


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """The route a request was matched to, and the values of its path variables."""

    route: Route
    path_parameters: dict[str, str]
