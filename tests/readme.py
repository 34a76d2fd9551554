"""The README's code, read from the README itself (tests check what a reader copies)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def section(title: str) -> str:
    """The text of the README's `## title` section."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def python_example() -> str:
    """The Python example of "From Python" (the first ```python block)."""
    return str(re.findall(r"```python\n(.*?)```", section("From Python"), re.S)[0])


def python_example_output() -> str:
    """What the README says the example printed (the ```text block after it)."""
    text = section("From Python")
    return str(re.findall(r"```text\n(.*?)```", text[text.index("```python") :], re.S)[0])
