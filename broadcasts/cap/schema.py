"""The CAP 1.2 schema, and reading XML that may be hostile.

`CAP-v1.2.xsd` is the OASIS file, byte for byte (its source and hash in
`SCHEMA_SOURCE.txt`). `parse` refuses any document type declaration (defusedxml's
`forbid_dtd`), so entity bombs (billion laughs) and external entities (XXE) are refused
before anything is expanded or fetched; `check` validates against the schema with
`xmlschema`, which never loads anything the schema does not name.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
import xmlschema
from defusedxml import DefusedXmlException

from broadcasts.errors import InvalidInput

NS = "urn:oasis:names:tc:emergency:cap:1.2"
SCHEMA_FILE = Path(__file__).with_name("CAP-v1.2.xsd")
MEDIA_TYPE = "application/cap+xml"
MAX_ERRORS = 10


def tag(name: str) -> str:
    """`name` in the CAP namespace, as ElementTree spells it."""
    return f"{{{NS}}}{name}"


@functools.cache
def cap_schema() -> xmlschema.XMLSchema10:
    return xmlschema.XMLSchema10(str(SCHEMA_FILE))


def schema_errors(root: Element) -> list[str]:
    """What is wrong with `root` as a CAP 1.2 alert (empty when it is valid)."""
    errors = []
    # The first few say enough; a hostile alert may have thousands.
    for error in itertools.islice(cap_schema().iter_errors(root), MAX_ERRORS):
        said = f"{error.path or '/'}: {error.reason or error.message}".replace(f"{{{NS}}}", "")
        got = error.obj if isinstance(error.obj, str) else getattr(error.elem, "text", None)
        if isinstance(got, str) and got.strip():
            said += f" (got {got.strip()[:40]!r})"
        errors.append(said)
    return errors


def parse(data: bytes) -> Element:
    """The root element of `data`; malformed or hostile XML is refused as input."""
    try:
        root: Element = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InvalidInput(
            "the XML has a document type declaration (DTD) or entities, which Loa does not read",
            reason="forbidden_xml",
        ) from exc
    except ParseError as exc:
        raise InvalidInput(
            f"the body is not well-formed XML: {exc}", reason="malformed_xml"
        ) from exc
    return root


def check(root: Element) -> Element:
    """`root` if it is a valid CAP 1.2 alert, else `InvalidInput` naming the first errors."""
    if root.tag != tag("alert"):
        raise InvalidInput(
            f"the root element must be <alert> in the CAP 1.2 namespace ({NS})",
            reason="not_cap",
        )
    errors = schema_errors(root)
    if errors:
        raise InvalidInput(
            "the alert does not follow the CAP 1.2 schema: " + "; ".join(errors[:3]),
            reason="invalid_cap",
            errors=errors,
        )
    return root
