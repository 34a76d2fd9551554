"""Language-model providers: simulated (offline), OpenAI-compatible HTTP, Anthropic; and their wrappers."""
