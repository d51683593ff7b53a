"""Common Alerting Protocol 1.2 (OASIS): Loa's notices as CAP alerts, and back.

    schema.py    the OASIS schema (vendored, `SCHEMA_SOURCE.txt`), safe parsing, validation
    alert.py     a notice → one CAP `alert` (one `info` per language), validated
    feed.py      a ward's sent notices → an Atom feed linking each alert
    upstream.py  a CAP alert from upstream (the city's disaster office) → a notice for review

XML is built with the standard library's ElementTree and read with defusedxml (no DTD, so
no entity expansion and no external entity); `xmlschema` checks it against the schema.
"""
