"""How long the text a group receives may be: one rule, in one place.

A summary is a summary only if it is shorter than what it summarises. The Vietnamese
rendition (title, body and key-fact lines together) may take at most
`min(SENT_MAX_CHARS, max(SENT_MIN_CHARS, SENT_RATIO × original length))` characters,
and never more than the original itself. `prepare_notice(…, budget=Budget(…))` overrides
the numbers; these are the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

SENT_MAX_CHARS = 600
SENT_MIN_CHARS = 350
SENT_RATIO = 0.75


@dataclass(frozen=True, slots=True)
class Budget:
    """The three numbers of the length rule."""

    max_chars: int = SENT_MAX_CHARS
    min_chars: int = SENT_MIN_CHARS
    ratio: float = SENT_RATIO

    def __post_init__(self) -> None:
        if not 0 < self.min_chars <= self.max_chars:
            raise ValueError("need 0 < min_chars <= max_chars")
        if not 0 < self.ratio <= 1:
            raise ValueError("ratio must be in (0, 1]")

    def for_text(self, original: str) -> int:
        """The most characters a rendition of `original` may have."""
        length = len(original.strip())
        return min(length, self.max_chars, max(self.min_chars, int(self.ratio * length)))


DEFAULT_BUDGET = Budget()
