"""Shipped tokenizer vocabularies, so token counting never downloads anything (see NOTICE.md)."""
