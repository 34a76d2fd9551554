"""Route modules: panels, agents, streams, health."""
