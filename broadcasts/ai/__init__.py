"""The AI step: from an official's notice to a title, a phone-sized summary, key facts and
one rendition per locale — through an OpenAI-compatible endpoint (with personal data
redacted) or entirely offline — with a fact guard on everything that would be sent.

    prep = await prepare_notice(text, ["vi", "en"], settings=AISettings())

Modules: `models` (settings and results), `redact` (placeholders, private data),
`offline` (extractive engine), `remote` (OpenAI client engine), `factguard`,
`formatting` (Babel), `prepare` (orchestration), `cli` (`loa prepare`).
"""

from broadcasts.ai.factguard import check_facts
from broadcasts.ai.models import (
    AISettings,
    Finding,
    Preparation,
    RenditionDraft,
    Warning,
)
from broadcasts.ai.prepare import prepare_notice
from broadcasts.ai.redact import find_private, mask_private

__all__ = [
    "AISettings",
    "Finding",
    "Preparation",
    "RenditionDraft",
    "Warning",
    "check_facts",
    "find_private",
    "mask_private",
    "prepare_notice",
]
