"""The vendored CAP 1.2 schema is the OASIS file, and hostile or broken XML is refused
before anything is expanded, fetched or stored."""

from __future__ import annotations

import hashlib
import re

import pytest

from broadcasts.cap.schema import NS, SCHEMA_FILE, cap_schema, check, parse
from broadcasts.cap.upstream import locale_of, name_key, read_alert
from broadcasts.errors import InvalidInput

VALID = f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="{NS}">
  <identifier>hcm-pctt-2026-0042</identifier><sender>pctt@tphcm.gov.vn</sender>
  <sent>2026-12-03T15:00:00+07:00</sent><status>Actual</status><msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>vi-VN</language><category>Met</category><event>Triều cường</event>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty>
    <headline>Cảnh báo triều cường</headline>
    <description>Triều cường đạt đỉnh 1,8 m lúc 17 giờ.</description>
    <area><areaDesc>Khu phố 1</areaDesc></area>
  </info>
</alert>""".encode()


def test_the_vendored_schema_is_the_oasis_file() -> None:
    source = SCHEMA_FILE.with_name("SCHEMA_SOURCE.txt").read_text()
    recorded = re.search(r"sha256 ([0-9a-f]{64})", source)
    assert recorded is not None
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == recorded.group(1)
    assert "http://docs.oasis-open.org/emergency/cap/v1.2/CAP-v1.2.xsd" in source
    assert cap_schema().target_namespace == NS
    assert cap_schema().version == "1.2"


def test_a_valid_alert_reads() -> None:
    alert = read_alert(VALID)
    assert (alert.sender, alert.identifier, alert.msg_type) == (
        "pctt@tphcm.gov.vn",
        "hcm-pctt-2026-0042",
        "Alert",
    )
    assert alert.texts == {"vi": "Cảnh báo triều cường\n\nTriều cường đạt đỉnh 1,8 m lúc 17 giờ."}
    assert [a.desc for a in alert.areas] == ["Khu phố 1"] and alert.urgent


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE alert SYSTEM "http://127.0.0.1:9/evil.dtd">
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE, EXTERNAL_DTD], ids=["bomb", "xxe", "dtd"])
def test_hostile_xml_is_refused_before_expansion(data: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(data)
    assert caught.value.detail["reason"] == "forbidden_xml"


def test_broken_xml_and_broken_alerts_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(b"<alert><unclosed></alert>")
    assert caught.value.detail["reason"] == "malformed_xml"
    with pytest.raises(InvalidInput) as caught:
        check(parse(b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.1'/>"))
    assert caught.value.detail["reason"] == "not_cap"
    with pytest.raises(InvalidInput) as caught:
        check(parse(VALID.replace(b"<status>Actual", b"<status>BOGUS")))
    assert caught.value.detail["reason"] == "invalid_cap"
    assert "status" in caught.value.message and "BOGUS" in caught.value.message
    # CAP's times need an explicit offset: «Z» is not allowed.
    with pytest.raises(InvalidInput):
        check(parse(VALID.replace(b"15:00:00+07:00", b"08:00:00Z")))


def test_names_match_without_accents_and_languages_map_to_locales() -> None:
    assert name_key("  Tổ dân  phố 1 ") == name_key("to dan pho 1") == "to dan pho 1"
    assert name_key("Đường Lê Lợi") == "duong le loi"
    assert name_key("Khu phố 1") != name_key("Khu phố 10")
    assert [locale_of(t) for t in ("vi-VN", "en-US", "zh", "KM")] == ["vi", "en", "zh", "km"]
