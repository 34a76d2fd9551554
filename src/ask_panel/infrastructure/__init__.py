"""Adapters: the database, the event fan-out, language-model providers, job execution and auth."""
