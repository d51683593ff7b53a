"""The remote engine: one chat-completions call to an OpenAI-compatible endpoint.

The notice arrives here already redacted (see `redact.py`). The answer is requested as
structured output (`response_format` json_schema, strict); a server that rejects that
gets the same request with `{"type": "json_object"}`, and the answer is validated with
pydantic either way. Every failure — timeout, 5xx after the client's bounded retries,
invalid JSON, a schema violation, a summary over the limit — raises `RemoteFailure`
with a short reason, and the caller falls back to the offline engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import httpx
import httpx2
import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from pydantic import BaseModel, ConfigDict, ValidationError

from broadcasts.ai.formatting import language_name
from broadcasts.ai.models import FACT_KEYS, AISettings

SYSTEM_PROMPT = """\
You prepare notices of a ward (phường) of Ho Chi Minh City, Vietnam, for the Telegram \
group chats of its neighbourhoods. Residents read them on their phones.

Answer with one JSON object and nothing else, with these fields:
- "title": a short Vietnamese title (at most 80 characters).
- "summary": a Vietnamese summary of at most {max_chars} characters, plain text, no Markdown.
- "facts": "when", "where", "who", "action", "contact": short Vietnamese phrases taken from \
the notice (the time and date; the place or address; who it concerns; what residents must \
do; whom to contact, with the number). Use "" when the notice does not say.
- "translations": for each requested language code, {{"title", "text"}}: the title and the \
summary translated into that language.

Rules:
1. Keep every date, time, place, address, amount, deadline and contact number that matters, \
exactly as the notice gives them. Dates and times are in Ho Chi Minh City time.
2. Never invent or compute anything: no date, time, number, amount, address, name or phone \
number that is not in the notice. Do not add advice the notice does not give.
3. Tokens such as ⟦P1⟧, ⟦ID1⟧, ⟦E1⟧, ⟦N1⟧, ⟦TK1⟧, ⟦BS1⟧, ⟦NS1⟧ and ⟦DC1⟧ stand for phone \
numbers, ID numbers, e-mail addresses, names, bank accounts, licence plates, dates of birth \
and home addresses removed for privacy. Copy them exactly, brackets included, wherever the \
notice uses them; never change, translate, complete or invent such a token.
4. In translations keep Vietnamese street, place and organisation names as they are, and \
write numbers, dates and times so that they stay the same values.
"""

USER_PROMPT = """\
Languages for "translations": {languages}
Summary limit: at most {max_chars} characters.

Notice:
<<<
{notice}
>>>"""


class RemoteFailure(Exception):
    """The endpoint gave no usable answer; `reason` is short and machine-ish."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AIFacts(BaseModel):
    model_config = ConfigDict(extra="ignore")

    when: str = ""
    where: str = ""
    who: str = ""
    action: str = ""
    contact: str = ""


class AITranslation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str
    text: str


class AIAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str
    summary: str
    facts: AIFacts
    translations: dict[str, AITranslation] = {}


def answer_schema(locales: Sequence[str]) -> dict[str, object]:
    """The strict JSON schema of an answer for these (non-Vietnamese) locales."""
    string: dict[str, object] = {"type": "string"}
    translation: dict[str, object] = {
        "type": "object",
        "properties": {"title": string, "text": string},
        "required": ["title", "text"],
        "additionalProperties": False,
    }
    properties: dict[str, object] = {
        "title": string,
        "summary": string,
        "facts": {
            "type": "object",
            "properties": {key: string for key in FACT_KEYS},
            "required": list(FACT_KEYS),
            "additionalProperties": False,
        },
    }
    if locales:
        properties["translations"] = {
            "type": "object",
            "properties": {loc: translation for loc in locales},
            "required": list(locales),
            "additionalProperties": False,
        }
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def build_messages(
    redacted: str, locales: Sequence[str], max_chars: int
) -> list[ChatCompletionMessageParam]:
    """System and user messages; `max_chars` is the limit the model is told."""
    languages = ", ".join(f"{loc} ({language_name(loc)})" for loc in locales) or "none"
    return [
        {"role": "system", "content": SYSTEM_PROMPT.format(max_chars=max_chars)},
        {
            "role": "user",
            "content": USER_PROMPT.format(
                languages=languages, max_chars=max_chars, notice=redacted
            ),
        },
    ]


def _mentions(exc: openai.APIStatusError, *words: str) -> bool:
    text = f"{exc.message} {json.dumps(exc.body, default=str)}".lower()
    return any(w in text for w in words)


def parse_answer(content: str) -> AIAnswer:
    """The answer's JSON, tolerating a Markdown fence around it."""
    text = content.strip()
    fence = re.match(r"^```(?:json)?\s*(.*?)\s*```$", text, re.DOTALL)
    if fence:
        text = fence.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RemoteFailure("invalid_json") from exc
    try:
        return AIAnswer.model_validate(data)
    except ValidationError as exc:
        raise RemoteFailure("schema_invalid") from exc


async def ask(
    redacted: str,
    locales: Sequence[str],
    *,
    settings: AISettings,
    expansion: int = 0,
    http_client: httpx2.AsyncClient | httpx.AsyncClient | None = None,
) -> AIAnswer:
    """One (redacted) notice in, one validated answer out, or `RemoteFailure`.

    `expansion`: how much longer the summary may get once placeholders are restored."""
    if settings.base_url is None:
        raise RemoteFailure("no_endpoint")
    client = openai.AsyncOpenAI(
        base_url=settings.base_url,
        api_key=settings.api_key.get_secret_value(),
        timeout=settings.timeout_seconds,
        max_retries=settings.max_retries,
        http_client=http_client,  # type: ignore[arg-type]  # httpx 0.x clients work too
    )
    try:
        completion = await _create(client, redacted, locales, settings, expansion)
    finally:
        if http_client is None:
            await client.close()
    return _read(completion)


def requested_limit(max_chars: int, expansion: int) -> int:
    """The summary limit to ask for: restoring placeholders makes the text longer by up to
    `expansion` characters, and the restored summary must still fit `max_chars`."""
    return max(max_chars - expansion, (max_chars * 3) // 5)


async def _create(
    client: openai.AsyncOpenAI,
    redacted: str,
    locales: Sequence[str],
    settings: AISettings,
    expansion: int,
) -> ChatCompletion:
    response_format: Any = {
        "type": "json_schema",
        "json_schema": {"name": "loa_notice", "strict": True, "schema": answer_schema(locales)},
    }
    extra: dict[str, Any] = {"temperature": 0}
    messages = build_messages(
        redacted, locales, requested_limit(settings.summary_max_chars, expansion)
    )
    for _ in range(3):
        try:
            result: ChatCompletion = await client.chat.completions.create(
                model=settings.model,
                messages=messages,
                response_format=response_format,
                **extra,
            )
            return result
        except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
            if response_format["type"] == "json_schema" and _mentions(
                exc, "response_format", "json_schema", "structured output"
            ):
                response_format = {"type": "json_object"}
                continue
            if "temperature" in extra and _mentions(exc, "temperature"):
                extra.pop("temperature")
                continue
            raise RemoteFailure(f"http_{exc.status_code}") from exc
        except openai.APITimeoutError as exc:
            raise RemoteFailure("timeout") from exc
        except openai.APIConnectionError as exc:
            raise RemoteFailure("connection_error") from exc
        except openai.APIStatusError as exc:
            raise RemoteFailure(f"http_{exc.status_code}") from exc
        except openai.OpenAIError as exc:
            raise RemoteFailure(f"error_{type(exc).__name__}") from exc
    raise RemoteFailure("http_400")


def _read(completion: ChatCompletion) -> AIAnswer:
    if not completion.choices:
        raise RemoteFailure("empty_answer")
    choice = completion.choices[0]
    if choice.finish_reason == "length":
        raise RemoteFailure("truncated_answer")
    if choice.message.refusal:
        raise RemoteFailure("refused")
    content = choice.message.content
    if not content or not content.strip():
        raise RemoteFailure("empty_answer")
    answer = parse_answer(content)
    if not answer.summary.strip():
        raise RemoteFailure("empty_summary")
    return answer
