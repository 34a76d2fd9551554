"""Cross-process wake-ups: PostgreSQL LISTEN/NOTIFY or Redis pub/sub, feeding each process's hub."""
