"""Keys for SMART Backend Services: generate a signing key, print the public JWKS that is
registered with the EHR (https://hl7.org/fhir/smart-app-launch/backend-services.html#registering-a-client-communicating-public-keys).

The `kid` defaults to the key's RFC 7638 JWK thumbprint, so the same key always has the
same id and nothing else has to be remembered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def _b64(n: int, length: int | None = None) -> str:
    raw = n.to_bytes(length or (n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk_fields(public_key: Any) -> dict[str, str]:
    """The required JWK members (RFC 7638 order) of an RSA or EC P-384 public key."""
    if isinstance(public_key, rsa.RSAPublicKey):
        nums = public_key.public_numbers()
        return {"e": _b64(nums.e), "kty": "RSA", "n": _b64(nums.n)}
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.name != "secp384r1":
            raise ValueError(f"ES384 needs an EC P-384 key, not {public_key.curve.name}")
        en = public_key.public_numbers()
        return {"crv": "P-384", "kty": "EC", "x": _b64(en.x, 48), "y": _b64(en.y, 48)}
    raise ValueError("the key must be RSA or EC P-384")


def key_id_of(public_key: Any) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url)."""
    canonical = json.dumps(public_jwk_fields(public_key), separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_jwk(public_key: Any, kid: str | None = None) -> dict[str, Any]:
    fields = public_jwk_fields(public_key)
    alg = "RS384" if fields["kty"] == "RSA" else "ES384"
    return {
        **fields,
        "kid": kid or key_id_of(public_key),
        "alg": alg,
        "use": "sig",
        "key_ops": ["verify"],
    }


def jwks(private_key: Any, kid: str | None = None) -> dict[str, Any]:
    """The JWKS (public half only) to register with the EHR."""
    return {"keys": [public_jwk(private_key.public_key(), kid)]}


def generate_private_key(alg: str = "ES384") -> Any:
    if alg == "RS384":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if alg == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    raise ValueError(f"unknown algorithm {alg!r}: use RS384 or ES384")


def private_pem(key: Any) -> bytes:
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def write_private_key(key: Any, path: Path) -> None:
    """Write the key as PKCS#8 PEM, readable by its owner only; never overwrites."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_pem(key))


def load_private_key(path: Path) -> Any:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read private key {path}: {e.strerror}") from e
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path} is not an unencrypted PEM private key") from e
