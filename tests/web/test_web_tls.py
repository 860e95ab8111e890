"""`standby serve --tls-cert/--tls-key`: HTTPS, HSTS, and a Secure cookie."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx

from support.web_server import served
from support.web_site import PASSWORD, Site, csrf_of


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "standby.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_served_over_tls_with_hsts_and_a_secure_cookie(mini_site: Site, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    settings = mini_site.settings.model_copy(update={"tls_cert": cert, "tls_key": key})
    with served(settings, mini_site.app) as url:
        assert url.startswith("http://")
        with httpx.Client(base_url=url.replace("http://", "https://"), verify=False) as c:
            page = c.get("/login")
            assert page.status_code == 200
            assert "max-age=" in page.headers["strict-transport-security"]
            r = c.post(
                "/login",
                data={
                    "username": "admin.a",
                    "password": PASSWORD,
                    "csrf_token": csrf_of(page.text),
                },
            )
            assert r.status_code == 303
            assert "Secure" in r.headers["set-cookie"]


def test_no_hsts_over_plain_http(mini_site: Site) -> None:
    r = mini_site.client().get("/login")
    assert "strict-transport-security" not in r.headers


def test_serve_refuses_a_certificate_without_its_key(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from standby.cli.main import app

    cert, _key = _self_signed(tmp_path)
    r = CliRunner().invoke(
        app, ["serve", "--no-monitor", "--db", str(tmp_path / "d.db"), "--tls-cert", str(cert)]
    )
    assert r.exit_code == 2 and "go together" in r.output
    r = CliRunner().invoke(
        app,
        [
            *("serve", "--no-monitor", "--db", str(tmp_path / "d.db")),
            *("--tls-cert", str(cert), "--tls-key", str(tmp_path / "missing.pem")),
        ],
    )
    assert r.exit_code == 2 and "no such file" in r.output
