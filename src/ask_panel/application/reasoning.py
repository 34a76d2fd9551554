"""Hiding a reasoning model's chain of thought: `<think>`-style blocks, in a whole answer or as it streams.

Reasoning models served through OpenAI-compatible servers (DeepSeek-R1, Qwen3, QwQ, gpt-oss on
some templates) often put their chain of thought in the answer itself, inside `<think>…</think>`
(or `<thinking>`, `<reasoning>`). A panel shows what an expert says, never how it got there, so
these blocks are removed from prose turns, from the live token stream and before JSON is read.
"""

from __future__ import annotations

import re

REASONING_TAGS = ("think", "thinking", "reasoning")
_NAMES = "|".join(REASONING_TAGS)
_BLOCK = re.compile(rf"<({_NAMES})\s*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_OPENING = re.compile(rf"<({_NAMES})\s*>", re.IGNORECASE)
_CLOSING = re.compile(rf"</({_NAMES})\s*>", re.IGNORECASE)
_OPENING_TEXTS = tuple(f"<{name}>" for name in REASONING_TAGS)


def strip_reasoning(text: str) -> str:
    """The answer without its reasoning blocks, trimmed.

    Also handled: a closing tag without its opening one (chat templates that put `<think>` in the
    prompt), whose text before it is reasoning; and an opening tag never closed (an answer cut off
    while reasoning), whose text after it is reasoning.
    """
    visible = _BLOCK.sub("", text)
    closings = list(_CLOSING.finditer(visible))
    if closings:
        visible = visible[closings[-1].end() :]
    opening = _OPENING.search(visible)
    if opening is not None:
        visible = visible[: opening.start()]
    return visible.strip()


def _partial_opening(text: str) -> int:
    """Where a possible beginning of an opening tag starts at the end of `text`, else -1."""
    start = text.rfind("<")
    if start < 0:
        return -1
    tail = text[start:].lower()
    return start if any(tag.startswith(tail) for tag in _OPENING_TEXTS) else -1


class ReasoningFilter:
    """Removes reasoning blocks from an answer as it streams, delta by delta.

    Text that might be the start of a tag is held back until the next delta tells; the text of a
    block is dropped as it arrives. Leading whitespace of the visible answer is dropped too. The
    visible deltas joined equal `strip_reasoning` of the whole answer, except for trailing
    whitespace and a closing tag that has no opening one (the stream cannot know in advance).
    """

    def __init__(self) -> None:
        self._pending = ""
        self._closing: re.Pattern[str] | None = None
        self._started = False

    def feed(self, delta: str) -> str:
        """The visible part of `delta` (possibly empty)."""
        self._pending += delta
        out: list[str] = []
        while self._pending:
            if self._closing is not None:
                end = self._closing.search(self._pending)
                if end is None:
                    self._pending = self._pending[-16:]  # enough to hold a partial closing tag
                    break
                self._pending = self._pending[end.end() :]
                self._closing = None
                continue
            opening = _OPENING.search(self._pending)
            if opening is not None:
                out.append(self._pending[: opening.start()])
                name = opening.group(1)
                self._closing = re.compile(rf"</{re.escape(name)}\s*>", re.IGNORECASE)
                self._pending = self._pending[opening.end() :]
                continue
            partial = _partial_opening(self._pending)
            if partial < 0:
                out.append(self._pending)
                self._pending = ""
            else:
                out.append(self._pending[:partial])
                self._pending = self._pending[partial:]
            break
        return self._visible("".join(out))

    def flush(self) -> str:
        """What was held back at the end of the answer (nothing if it ended inside a block)."""
        rest = "" if self._closing is not None else self._pending
        self._pending = ""
        return self._visible(rest)

    def _visible(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        return text
