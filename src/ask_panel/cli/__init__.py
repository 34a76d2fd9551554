"""The `ask-panel` command line: ask, panels and agents for people; serve, migrate, worker and token for the service."""
