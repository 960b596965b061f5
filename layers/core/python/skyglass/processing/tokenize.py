"""Offline token counts for generations that report no usage (compat §7.2 step 2).

Two tokenizers, named by a model's ``tokenizerId``:

* ``openai`` — tiktoken with the encoding of ``tokenizerConfig.tokenizerModel`` (``o200k_base``
  for gpt-4o/4.1/o-series/gpt-5, ``cl100k_base`` for gpt-4/3.5/embeddings, ``cl100k_base`` when
  unknown, as Langfuse falls back). A chat-message array (every item ``{role: str, content: str,
  name?: str}``) with a chat config counts ``tokensPerMessage`` per message, the tokens of its
  ``content``/``role``/``name``/``tool_calls``/``function_call`` values, ``tokensPerName`` per
  name, plus 3 priming tokens; anything else counts its text (strings) or compact JSON.
* ``claude`` — Anthropic's legacy tokenizer (what ``@anthropic-ai/tokenizer`` does): NFKC, then
  BPE with special tokens allowed.

tiktoken normally downloads encodings on first use. Here every encoding is built directly from
vocabulary files shipped in ``tokenizer_data`` (hash-checked), so no network access is ever
attempted. tiktoken is imported lazily: only the worker that tokenises pays for it.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

_DATA_PACKAGE = "skyglass.processing.tokenizer_data"

_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
# GPT-2's split pattern: what the Hugging Face ByteLevel pre-tokenizer of the Claude file uses.
_CLAUDE_PAT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


@dataclass(frozen=True, slots=True)
class _Spec:
    file: str
    sha256: str
    pat_str: str
    special_tokens: Mapping[str, int]


_SPECS: dict[str, _Spec] = {
    "cl100k_base": _Spec(
        "cl100k_base.tiktoken.gz",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        _CL100K_PAT,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
    "o200k_base": _Spec(
        "o200k_base.tiktoken.gz",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        _O200K_PAT,
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    ),
    "claude": _Spec(
        "claude.tiktoken.gz",
        "ba9ebb28e61f5872504fbe44b2f61bd825c222d7d910f55c89f5f28ab1f40e8b",
        _CLAUDE_PAT,
        {"<EOT>": 0, "<META>": 1, "<META_START>": 2, "<META_END>": 3, "<SOS>": 4},
    ),
}

# Encodings tiktoken may name that we do not ship, and the shipped one that counts alike.
_SUBSTITUTES = {"o200k_harmony": "o200k_base", "p50k_base": "cl100k_base", "p50k_edit": "cl100k_base"}
# Model-name prefixes tiktoken may not know yet (newer snapshots) that use o200k_base.
_O200K_PREFIXES = ("gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "ft:gpt-4o")
_CHAT_KEYS = frozenset(
    {"content", "role", "name", "tool_calls", "function_call", "toolCalls", "functionCall"}
)
_PRIMING_TOKENS = 3  # every reply is primed with <|start|>assistant<|message|>
_ABSENT = object()


class TokenizerDataError(RuntimeError):
    """A shipped vocabulary file is missing or corrupt (a packaging fault, never user input)."""


@functools.cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """The tiktoken ``Encoding`` for a shipped vocabulary, built once per process, offline."""
    import tiktoken  # native extension: imported only where tokenisation happens

    spec = _SPECS[name]
    try:
        raw = gzip.decompress(resources.files(_DATA_PACKAGE).joinpath(spec.file).read_bytes())
    except (OSError, EOFError) as exc:
        raise TokenizerDataError(f"cannot read shipped tokenizer file {spec.file}") from exc
    if hashlib.sha256(raw).hexdigest() != spec.sha256:
        raise TokenizerDataError(f"shipped tokenizer file {spec.file} does not match its pinned hash")
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in raw.splitlines() if line)
    }
    return tiktoken.Encoding(
        name, pat_str=spec.pat_str, mergeable_ranks=ranks, special_tokens=dict(spec.special_tokens)
    )


def encoding_name_for_model(tokenizer_model: str | None) -> str:
    """The shipped encoding for an OpenAI model name (tiktoken's table, then prefixes, else cl100k)."""
    from tiktoken.model import encoding_name_for_model as tiktoken_name  # a pure table lookup

    model = (tokenizer_model or "").strip().rsplit("/", 1)[-1]
    try:
        name = tiktoken_name(model)
    except KeyError:
        name = "o200k_base" if model.lower().startswith(_O200K_PREFIXES) else "cl100k_base"
    name = _SUBSTITUTES.get(name, name)
    return name if name in _SPECS else "cl100k_base"


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _parse(text: str | None) -> Any:
    """Stored JSON text → value; non-JSON text stays text; nothing (or ``[]``) → ``_ABSENT``."""
    if text is None:
        return _ABSENT
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if value is None or value == []:
        return _ABSENT
    return value


def _is_chat(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(m, dict)
        and isinstance(m.get("role"), str)
        and isinstance(m.get("content"), str)
        and ("name" not in m or isinstance(m["name"], str))
        for m in value
    )


def _int_config(config: Mapping[str, Any], key: str) -> int | None:
    value = config.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _count_openai(value: Any, config: Mapping[str, Any]) -> int:
    encoding = get_encoding(encoding_name_for_model(config.get("tokenizerModel")))

    def tokens(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    per_message, per_name = _int_config(config, "tokensPerMessage"), _int_config(config, "tokensPerName")
    if per_message is None or per_name is None or not _is_chat(value):
        return tokens(value if isinstance(value, str) else _compact_json(value))
    total = _PRIMING_TOKENS
    for message in value:
        total += per_message
        for key, item in message.items():
            if key in _CHAT_KEYS and item:
                total += tokens(item if isinstance(item, str) else _compact_json(item))
            if key == "name":
                total += per_name
    return total


def _count_claude(value: Any, config: Mapping[str, Any]) -> int:
    text = value if isinstance(value, str) else _compact_json(value)
    return len(get_encoding("claude").encode(unicodedata.normalize("NFKC", text), allowed_special="all"))


_COUNTERS: dict[str, Callable[[Any, Mapping[str, Any]], int]] = {
    "openai": _count_openai,
    "claude": _count_claude,
}


def count_tokens(
    tokenizer_id: str,
    tokenizer_config: Mapping[str, Any] | None,
    input_json_text: str | None,
    output_json_text: str | None,
) -> dict[str, int] | None:
    """``{input, output, total}`` token counts of a generation's stored input/output JSON texts.

    A side that is missing (or an empty list) is left out; ``None`` when the tokenizer is unknown
    or nothing could be counted. Tokenisation is best effort: a failure yields ``None`` rather
    than failing ingestion. Matches ``skyglass.domain.pricing.TokenCounter``.
    """
    counter = _COUNTERS.get(tokenizer_id)
    if counter is None:
        return None
    config = tokenizer_config if isinstance(tokenizer_config, Mapping) else {}
    result: dict[str, int] = {}
    try:
        for side, text in (("input", input_json_text), ("output", output_json_text)):
            value = _parse(text)
            if value is not _ABSENT:
                result[side] = counter(value, config)
    except (TokenizerDataError, ImportError, ValueError, TypeError):
        return None
    if not result:
        return None
    result["total"] = sum(result.values())
    return result
