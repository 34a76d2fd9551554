"""Use cases: create, list, execute, cancel and stream panels; ports that the adapters implement."""
