"""Reproducible benchmarks of skyglass (and Arize Phoenix as a peer); see ``bench/README.md``."""
