"""Text the service stores: refused when some store could not keep it exactly.

PostgreSQL cannot hold NUL in text nor `\\u0000` in JSON, and no store can hold an unpaired UTF-16
surrogate (it has no UTF-8 form). Such characters are refused with InvalidInput wherever text enters
(a panel's query and configuration, an expert's fields, ids and keys), so every store, in memory,
SQLite or PostgreSQL, either keeps a value faithfully or never sees it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ask_panel.domain.errors import InvalidInput

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Python's whitespace (what `str.strip()` removes), spelled out: a JSON Schema `pattern` that a text
# matches when it holds something besides whitespace (ECMA's `\s` differs from Python's in a few characters).
WHITESPACE_CLASS = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK_PATTERN = f"[^{WHITESPACE_CLASS}]"


def storable(value: str, what: str) -> str:
    """`value`, or InvalidInput naming `what` when it holds a character that cannot be stored."""
    if UNSTORABLE.search(value):
        raise InvalidInput(f"{what} must not contain NUL or unpaired surrogate characters")
    return value


def storable_tree(value: Any, what: str) -> None:
    """Every string in a JSON-like value (keys included) is storable."""
    if isinstance(value, str):
        storable(value, what)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            storable_tree(key, what)
            storable_tree(item, what)
    elif isinstance(value, list | tuple):
        for item in value:
            storable_tree(item, what)
