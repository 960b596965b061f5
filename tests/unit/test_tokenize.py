"""Offline token counting: exact counts, chat arrays, Claude, and no network access ever."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import socket
from importlib import resources

import pytest

from skyglass.domain.pricing import enrich_usage_and_cost, load_default_models
from skyglass.processing import tokenize
from skyglass.processing.tokenize import count_tokens, encoding_name_for_model, get_encoding

CHAT_CONFIG = {"tokenizerModel": "gpt-4o", "tokensPerMessage": 3, "tokensPerName": 1}
SAMPLES = [
    "hello world",
    "tiktoken is great!",
    "def f(x):\n    return x ** 2  # square\n\n\n",
    "日本語のテキスト, emoji 🎉🚀 and accents: déjà vu",
    "I'll we've THEY'RE it's   spaced\t\ttabs\r\nwindows",
    "<|endoftext|> is just text here",
    "1234567890 3.14159 -42 1e-9",
    '{"role": "user", "content": "What is 2+2?"}',
]


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Any connection attempt fails, and tiktoken's download cache points at an empty folder."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    get_encoding.cache_clear()  # force a fresh load from the shipped files
    yield
    get_encoding.cache_clear()


def _json(value) -> str:
    return json.dumps(value)


def _single(count: int) -> dict[str, int]:
    return {"input": count, "total": count}


def test_counting_never_touches_the_network(no_network):
    # Given no network and no tiktoken cache
    # When counting with every shipped vocabulary
    openai_4 = count_tokens("openai", {"tokenizerModel": "gpt-4"}, _json("hello world"), None)
    openai_4o = count_tokens("openai", {"tokenizerModel": "gpt-4o"}, _json("hello world"), _json("hi"))
    claude = count_tokens("claude", None, _json("hello world"), None)
    # Then every count succeeds from the shipped files
    assert openai_4 == {"input": 2, "total": 2}
    assert openai_4o == {"input": 2, "output": 1, "total": 3}
    assert claude == {"input": 2, "total": 2}


def test_known_token_ids():
    # Published examples: the OpenAI cookbook's cl100k ids and o200k's "hello world"
    assert get_encoding("cl100k_base").encode("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    assert get_encoding("o200k_base").encode("hello world") == [24912, 2375]
    assert get_encoding("cl100k_base").encode("hello world") == [15339, 1917]


@pytest.mark.parametrize(
    ("file_name", "encoding_name"), [("cl100k_base", "cl100k_base"), ("o200k_base", "o200k_base")]
)
def test_shipped_encodings_equal_tiktokens_own(no_network, monkeypatch, tmp_path, file_name, encoding_name):
    # Given tiktoken's own constructor, fed our files through its cache (it checks the pinned hash)
    import tiktoken
    import tiktoken.registry

    cache = tmp_path / "cache"
    cache.mkdir()
    url = f"https://openaipublic.blob.core.windows.net/encodings/{file_name}.tiktoken"
    packed = resources.files("skyglass.processing.tokenizer_data").joinpath(f"{file_name}.tiktoken.gz")
    (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(gzip.decompress(packed.read_bytes()))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # no encoding left over from elsewhere
    official = tiktoken.get_encoding(encoding_name)
    ours = get_encoding(encoding_name)
    # Then both tokenise identically, special tokens included
    for text in SAMPLES:
        assert ours.encode(text, disallowed_special=()) == official.encode(text, disallowed_special=())
        assert ours.encode(text, allowed_special="all") == official.encode(text, allowed_special="all")
    assert ours.special_tokens_set == official.special_tokens_set


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-5.1-codex", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("text-embedding-ada-002", "cl100k_base"),
        ("something-else", "cl100k_base"),
        (None, "cl100k_base"),
    ],
)
def test_encoding_per_tokenizer_model(model, encoding):
    assert encoding_name_for_model(model) == encoding


def test_chat_messages_are_counted_per_message():
    # Given a chat array: per message 3 + role + content (+ name + 1), plus 3 priming tokens
    messages = [
        {"role": "system", "content": "hello world"},  # 3 + 1 + 2
        {"role": "user", "name": "bob", "content": "hello world"},  # 3 + 1 + 1 + 1 + 2
    ]
    counts = count_tokens("openai", CHAT_CONFIG, _json(messages), _json("hello world"))
    # Then the counts follow the OpenAI/Langfuse rules exactly
    assert counts == {"input": 3 + 6 + 8, "output": 2, "total": 19}


def test_tool_calls_count_as_json_and_falsy_values_are_skipped():
    encoding = get_encoding("o200k_base")
    tool_calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    message = {"role": "assistant", "content": "", "tool_calls": tool_calls}
    expected = 3 + 3 + 1 + len(encoding.encode(json.dumps(tool_calls, separators=(",", ":"))))
    assert count_tokens("openai", CHAT_CONFIG, _json([message]), None) == {
        "input": expected,
        "total": expected,
    }


def test_non_chat_values_count_their_text_or_compact_json():
    encoding = get_encoding("o200k_base")
    # Content parts are not a plain chat array: the whole value is counted as compact JSON
    parts = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    compact = json.dumps(parts, separators=(",", ":"))
    assert count_tokens("openai", CHAT_CONFIG, _json(parts), None) == _single(len(encoding.encode(compact)))
    # Text that is not JSON is counted as it is; a chat array without a chat config is JSON too
    assert count_tokens("openai", CHAT_CONFIG, "hello world", None) == _single(2)
    plain = [{"role": "user", "content": "hi"}]
    embed = count_tokens("openai", {"tokenizerModel": "text-embedding-3-small"}, _json(plain), None)
    assert embed == _single(len(get_encoding("cl100k_base").encode(json.dumps(plain, separators=(",", ":")))))


def test_missing_sides_and_unknown_tokenizers():
    assert count_tokens("openai", CHAT_CONFIG, None, None) is None
    assert count_tokens("openai", CHAT_CONFIG, "[]", "null") is None
    assert count_tokens("openai", CHAT_CONFIG, _json(""), None) == {"input": 0, "total": 0}
    assert count_tokens("sentencepiece", None, _json("hello"), None) is None
    assert count_tokens("openai", None, _json("hello world"), None) == {"input": 2, "total": 2}


def test_claude_tokenizer_normalises_and_allows_special_tokens():
    # Counts pinned from Anthropic's tokenizer.json run through Hugging Face `tokenizers`
    assert count_tokens("claude", None, _json("Hello, how are you today?"), None) == {"input": 7, "total": 7}
    # NFKC first: the ligature "ﬁ" counts like "fi"; special tokens are single tokens
    ligature = count_tokens("claude", None, _json("ﬁnance"), None)
    assert ligature == count_tokens("claude", None, _json("finance"), None)
    assert count_tokens("claude", None, _json("<EOT>"), None) == {"input": 1, "total": 1}


def test_corrupt_shipped_file_yields_no_count(monkeypatch):
    # Given a vocabulary whose pinned hash does not match the shipped file
    spec = tokenize._SPECS["claude"]
    monkeypatch.setitem(tokenize._SPECS, "claude", dataclasses.replace(spec, sha256="0" * 64))
    get_encoding.cache_clear()
    try:
        # Then counting gives up quietly instead of failing ingestion
        assert count_tokens("claude", None, _json("hello"), None) is None
        with pytest.raises(tokenize.TokenizerDataError):
            get_encoding("claude")
    finally:
        get_encoding.cache_clear()


def test_count_tokens_plugs_into_enrichment(no_network):
    # Given a generation without usage for a model with the openai tokenizer
    messages = [{"role": "user", "content": "hello world"}]
    enrichment = enrich_usage_and_cost(
        "gpt-4o", None, None, _json(messages), _json("hello world"), "DEFAULT", None, None,
        load_default_models(), count_tokens,
    )  # fmt: skip
    # Then usage comes from the tokenizer and is priced
    assert enrichment.usage_details == {"input": 9, "output": 2, "total": 11}
    assert enrichment.total_cost == pytest.approx(9 * 2.5e-6 + 2 * 10e-6)
