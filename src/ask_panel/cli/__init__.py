"""The `ask-panel` command line: serve, migrate, token."""
