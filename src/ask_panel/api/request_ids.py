"""Request ids: the caller's X-Request-ID when it is a sane token, else a new one."""

from __future__ import annotations

import re
import uuid

_VALID_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")


def request_id_from(incoming: str) -> str:
    return incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
