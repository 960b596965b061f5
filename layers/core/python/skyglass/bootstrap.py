"""Composition root: picks adapters by URL scheme (filled in below)."""
