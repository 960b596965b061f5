"""skyglass: an LLM engineering platform that speaks the Langfuse API."""

__version__ = "0.1.0"
