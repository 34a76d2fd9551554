"""SQL storage (SQLite embedded, PostgreSQL in production) behind the application's ports."""
