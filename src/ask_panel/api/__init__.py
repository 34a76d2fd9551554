"""The HTTP API: FastAPI routes, SSE and WebSocket streams, authentication and error mapping."""
