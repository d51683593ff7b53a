"""The remote engine against a real local stub endpoint: privacy, structure, fallbacks."""

from __future__ import annotations

import re

import httpx2
import pytest

from broadcasts.ai import find_private, prepare_notice
from broadcasts.ai.redact import find_spans, normalize
from tests.broadcasts.ai.helpers import FACTS, NOW, SAMPLE_NAMES, remote_settings, sample
from tests.support.openai_stub import OpenAIStub


def leaks(stub: OpenAIStub, text: str, name: str) -> list[str]:
    """Private items of a notice found in any recorded request body (raw or decoded).
    Public contacts (an office's landline, hotlines) may be sent as they are."""
    bodies = stub.bodies()
    found: list[str] = []
    for pattern in FACTS[name]["private"]:
        found += [pattern for b in bodies if re.search(pattern, b, re.IGNORECASE)]
    items = find_private(text) + [s.raw for s in find_spans(normalize(text))]
    for item in items:
        digits = re.sub(r"\D", "", item)
        for b in bodies:
            if item in b or (len(digits) >= 6 and digits in re.sub(r"\D", "", b)):
                found.append(item)
    return found


@pytest.mark.parametrize("name", SAMPLE_NAMES)
async def test_no_private_item_reaches_the_endpoint(stub: OpenAIStub, name: str) -> None:
    text = sample(name)
    prep = await prepare_notice(
        text, ["vi", "en", "zh", "km"], settings=remote_settings(stub.base_url)
    )
    assert prep.engine == "ai"
    assert len(stub.requests) == 1
    assert leaks(stub, text, name) == []
    # Nor placeholders in what would be sent: they were all restored.
    for r in prep.renditions.values():
        assert "⟦" not in r.text and r.source == "ai"


async def test_names_ids_and_phones_are_redacted_in_the_request(stub: OpenAIStub) -> None:
    text = sample("06-tai-san-that-lac.txt")
    await prepare_notice(text, ["vi", "en"], settings=remote_settings(stub.base_url))
    (request,) = stub.requests
    for secret in ("Trần Thị Mai", "Lê Văn Hùng", "0903 456 789", "079185004321"):
        assert secret not in request.decoded
    user = request.json["messages"][-1]["content"]
    for placeholder in ("⟦N1⟧", "⟦P1⟧", "⟦ID1⟧", "⟦N2⟧"):
        assert placeholder in user
    assert "⟦P2⟧" not in user
    assert "028 3829 7755" in user  # the police station's number is public
    assert "14 Pasteur" in user  # an office's address is not personal data


async def test_structured_request_and_restored_answer(stub: OpenAIStub) -> None:
    text = sample("06-tai-san-that-lac.txt")
    prep = await prepare_notice(
        text, ["vi", "en"], settings=remote_settings(stub.base_url), now=NOW
    )
    (request,) = stub.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer test-key"
    assert request.json["model"] == "stub-model"
    fmt = request.json["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["required"] == ["title", "summary", "facts", "translations"]
    assert schema["properties"]["translations"]["required"] == ["en"]
    assert set(schema["properties"]["facts"]["required"]) == {
        "when",
        "where",
        "who",
        "action",
        "contact",
    }

    assert prep.engine == "ai"
    vi, en = prep.renditions["vi"], prep.renditions["en"]
    # Placeholders echoed by the endpoint are restored everywhere.
    assert "Trần Thị Mai" in prep.summary and "028 3829 7755" in vi.text
    assert prep.facts["contact"] == "0903 456 789, 028 3829 7755"
    assert en.text.startswith("[en] ") and "028 3829 7755" in en.text
    assert "When: Friday, November 20, 2026" in en.text
    assert "Contact: 0903 456 789, 028 3829 7755" in en.text
    assert not vi.flagged and not en.flagged
    assert len(prep.summary) <= 500
    codes = [w.code for w in prep.warnings]
    assert codes == ["private_phone", "private_id_number"]


async def test_invented_date_number_and_placeholder_are_flagged(stub: OpenAIStub) -> None:
    stub.mode = "invent"
    prep = await prepare_notice(
        sample("02-tiem-soi.txt"), ["vi", "en"], settings=remote_settings(stub.base_url)
    )
    assert prep.engine == "ai"
    vi, en = prep.renditions["vi"], prep.renditions["en"]
    assert vi.flagged and en.flagged
    assert {(f.code, f.value) for f in vi.findings} == {
        ("untraceable_date", "15/12/2026"),
        ("untraceable_number", "999.000"),
        ("invented_placeholder", "⟦P9⟧"),
    }
    assert {(f.code, f.value) for f in en.findings} == {
        ("untraceable_date", "15/12/2026"),
        ("untraceable_number", "999,000"),
    }
    assert all(f.locale == "en" for f in en.findings)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("invalid", "invalid_json"),
        ("invalid_schema", "schema_invalid"),
        ("5xx", "http_500"),
        ("long", "summary_too_long"),
    ],
)
async def test_bad_answers_fall_back_to_offline(stub: OpenAIStub, mode: str, reason: str) -> None:
    stub.mode = mode
    prep = await prepare_notice(
        sample("01-cat-dien.txt"),
        ["vi", "en"],
        settings=remote_settings(stub.base_url, max_retries=1),
    )
    assert prep.engine == "offline"
    fallback = [w for w in prep.warnings if w.code == "ai_failed_fallback"]
    assert len(fallback) == 1 and fallback[0].detail.startswith(reason)
    assert ("no_translation_offline", "en") in [(w.code, w.locale) for w in prep.warnings]
    assert all(r.source == "offline" for r in prep.renditions.values())
    # Bounded retries: only server errors are retried, once here.
    assert len(stub.requests) == (2 if mode == "5xx" else 1)


async def test_timeout_falls_back_to_offline(stub: OpenAIStub) -> None:
    stub.mode = "slow"
    prep = await prepare_notice(
        sample("07-trieu-cuong.txt"),
        ["vi"],
        settings=remote_settings(stub.base_url, timeout_seconds=0.3),
    )
    assert prep.engine == "offline"
    assert ("ai_failed_fallback", "timeout") in [(w.code, w.detail) for w in prep.warnings]
    assert prep.urgent


async def test_retry_then_success(stub: OpenAIStub) -> None:
    stub.script = ["5xx", "ok"]
    prep = await prepare_notice(
        sample("08-lam-viec-thu-bay.txt"),
        ["vi"],
        settings=remote_settings(stub.base_url, max_retries=2),
    )
    assert prep.engine == "ai"
    assert [r.mode for r in stub.requests] == ["5xx", "ok"]


async def test_json_object_when_json_schema_is_rejected(stub: OpenAIStub) -> None:
    stub.mode = "no_json_schema"
    prep = await prepare_notice(
        sample("05-hop-dan.txt"), ["vi", "en"], settings=remote_settings(stub.base_url)
    )
    assert prep.engine == "ai"
    assert [r.json["response_format"]["type"] for r in stub.requests] == [
        "json_schema",
        "json_object",
    ]
    assert "JSON" in stub.requests[1].json["messages"][0]["content"]
    assert prep.renditions["en"].text.startswith("[en] ")
    assert not any(w.code == "ai_failed_fallback" for w in prep.warnings)


async def test_disabled_never_contacts_the_endpoint(stub: OpenAIStub) -> None:
    settings = remote_settings(stub.base_url, enabled=False)
    prep = await prepare_notice(sample("06-tai-san-that-lac.txt"), ["vi", "en"], settings=settings)
    assert stub.requests == []
    assert prep.engine == "offline"
    assert "ai_disabled" in [w.code for w in prep.warnings]


async def test_unreachable_endpoint_falls_back() -> None:
    async with OpenAIStub("ok") as stub:
        url = stub.base_url
    prep = await prepare_notice(
        sample("03-sot-xuat-huyet.txt"), ["vi"], settings=remote_settings(url)
    )
    assert prep.engine == "offline"
    assert ("ai_failed_fallback", "connection_error") in [(w.code, w.detail) for w in prep.warnings]


async def test_caller_http_client_is_used_and_left_open(stub: OpenAIStub) -> None:
    async with httpx2.AsyncClient() as client:
        prep = await prepare_notice(
            sample("04-rac-cong-kenh.txt"),
            ["vi"],
            settings=remote_settings(stub.base_url),
            http_client=client,
        )
        assert prep.engine == "ai"
        assert not client.is_closed
    assert len(stub.requests) == 1


def test_the_leak_check_sees_escaped_bodies() -> None:
    """The privacy test above would notice an unredacted notice, even \\u-escaped."""
    import json

    from tests.support.openai_stub import RecordedRequest

    text = sample("06-tai-san-that-lac.txt")
    payload = {"messages": [{"role": "user", "content": text}]}
    body = json.dumps(payload).encode()  # ASCII with \u escapes, as clients send it
    stub = OpenAIStub("ok")
    stub.requests.append(RecordedRequest("/v1/chat/completions", {}, body, "ok", payload))
    found = leaks(stub, text, "06-tai-san-that-lac.txt")
    assert "Trần Thị Mai" in found and "0903 456 789" in found and "079185004321" in found


async def test_missing_translation_gets_the_vietnamese_text(stub: OpenAIStub) -> None:
    stub.mode = "partial"
    prep = await prepare_notice(
        sample("02-tiem-soi.txt"), ["vi", "km"], settings=remote_settings(stub.base_url)
    )
    assert prep.engine == "ai"
    assert prep.renditions["km"].text == prep.renditions["vi"].text
    assert ("translation_missing", "km") in [(w.code, w.locale) for w in prep.warnings]
