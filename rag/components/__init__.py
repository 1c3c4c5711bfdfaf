"""Swappable parts (embedder, stores, LLM providers), each behind a small interface."""
