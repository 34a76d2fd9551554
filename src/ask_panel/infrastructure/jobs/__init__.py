"""Panel execution across worker processes, on procrastinate (a PostgreSQL job queue)."""
