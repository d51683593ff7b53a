"""The AI step: from an official's notice to a title, a phone-sized summary, key facts and
one rendition per locale — through an OpenAI-compatible endpoint (with personal data
redacted) or entirely offline — with a fact guard on everything that would be sent.

    prep = await prepare_notice(text, ["vi", "en"], settings=AISettings())

Modules: `models` (settings and results), `budget` (how long a text may be), `redact`
(placeholders, private data), `offline` (the engine without network: a package, one
module per seam), `remote` (OpenAI client engine), `factguard` (traceable values),
`places` (addresses and number ranges), `timecheck` (weekdays, past dates), `formatting`
(key-fact lines, Babel), `wording` (Vietnamese dates), `prepare` (orchestration), `cli`
(`loa prepare`). The group's own message is `broadcasts.message`.
"""

from broadcasts.ai.factguard import check_facts
from broadcasts.ai.models import (
    AISettings,
    Finding,
    Preparation,
    RenditionDraft,
    Warning,
)
from broadcasts.ai.prepare import check_length, prepare_notice
from broadcasts.ai.redact import find_private, mask_private

__all__ = [
    "AISettings",
    "Finding",
    "Preparation",
    "RenditionDraft",
    "Warning",
    "check_facts",
    "check_length",
    "find_private",
    "mask_private",
    "prepare_notice",
]
