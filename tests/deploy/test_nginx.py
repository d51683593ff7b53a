"""deploy/nginx/loa.conf passes `nginx -t`, with a test certificate in place of certbot's,
and its webhook locations match the API's webhook routes.

nginx is taken from PATH, or else from the Debian package in apt's cache, unpacked into
the test's directory (nothing is installed); with neither, the test is skipped."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api.routes import telegram_webhook, zalo_webhook

SITE = Path(__file__).parents[2] / "deploy" / "nginx" / "loa.conf"
APT_CACHE = Path("/var/cache/apt/archives")
CERT_DIR = "/etc/letsencrypt/live/loa.example.vn"


def _nginx(tmp_path: Path) -> Path:
    found = shutil.which("nginx")
    if found:
        return Path(found)
    debs = sorted(APT_CACHE.glob("nginx_*.deb")) + sorted(APT_CACHE.glob("nginx-light_*.deb"))
    dpkg = shutil.which("dpkg-deb")
    if dpkg is None or not debs:
        pytest.skip("nginx is not installed, and no nginx package is in apt's cache")
    root = tmp_path / "nginx-root"
    for deb in debs[:1]:
        subprocess.run([dpkg, "-x", str(deb), str(root)], check=True)
    binary = root / "usr" / "sbin" / "nginx"
    if not binary.exists():
        pytest.skip(f"{debs[0].name} holds no nginx binary")
    return binary


def _certificate(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "loa.example.vn")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _test(nginx: Path, tmp_path: Path, site: str) -> subprocess.CompletedProcess[str]:
    _certificate(tmp_path)
    (tmp_path / "site.conf").write_text(site.replace(CERT_DIR, str(tmp_path)))
    temp = {k: tmp_path / k for k in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\nhttp {{\n"
        "    access_log off;\n"
        + "".join(
            f"    {'client_body' if k == 'body' else k}_temp_path {p};\n" for k, p in temp.items()
        )
        + f"    include {tmp_path}/site.conf;\n}}\n"
    )
    return subprocess.run(
        [
            str(nginx),
            "-t",
            "-p",
            str(tmp_path),
            "-e",
            str(tmp_path / "error.log"),
            "-c",
            str(tmp_path / "nginx.conf"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_site_passes_nginx_t(tmp_path: Path) -> None:
    nginx = _nginx(tmp_path)
    done = _test(nginx, tmp_path, SITE.read_text())
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    assert "[warn]" not in done.stderr and "[emerg]" not in done.stderr


def test_nginx_t_catches_a_broken_site(tmp_path: Path) -> None:
    """The check above could fail: a directive nginx does not know is an error."""
    nginx = _nginx(tmp_path)
    done = _test(nginx, tmp_path, SITE.read_text().replace("proxy_pass", "proxy_passs", 1))
    assert done.returncode != 0 and "proxy_passs" in done.stderr


def test_the_webhook_locations_match_the_api_routes() -> None:
    site = SITE.read_text()
    locations = re.findall(r"location ~ (\S+) \{", site)
    for route in (telegram_webhook.PATH, zalo_webhook.PATH):
        path = route.replace("{bot_id}", "42")
        assert any(re.fullmatch(p.strip("^$"), path) for p in locations), route
    for feed in ("/wards/BT/notices.atom", "/wards/BT/notices/12.cap.xml"):
        assert any(re.fullmatch(p.strip("^$"), feed) for p in locations), feed
