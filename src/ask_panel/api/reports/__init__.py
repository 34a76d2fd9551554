"""A finished (or running) panel as an auditable decision record: JSON, Markdown and printable HTML."""
