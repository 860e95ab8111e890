"""Bulk Data $export and SMART Backend Services on the simulated EHR, in process."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from standby.sim.server import SmartAuthConfig
from standby.sim.server.smart_auth import TokenRequestRefused
from support.sim_server_support import client, close_exports, small_store

TOKEN_URL = "http://testserver/auth/token"
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _poll(c: Any, url: str) -> Any:
    for _ in range(500):
        r = c.get(url)
        if r.status_code != 202:
            return r
        assert r.headers["retry-after"]
        assert "x-progress" in r.headers
        time.sleep(0.02)
    raise AssertionError("export never finished")


def test_export_flow_system_level(tmp_path: Path) -> None:
    store = small_store(tmp_path)
    with client(store, per_file=10) as c:
        assert c.get("/$export").status_code == 400  # no Prefer: respond-async
        k = c.get("/$export?_type=Patient,Observation", headers={"Prefer": "respond-async"})
        assert k.status_code == 202
        status_url = k.headers["content-location"]
        m = _poll(c, status_url)
        assert m.status_code == 200
        manifest = m.json()
        assert manifest["transactionTime"] and manifest["requiresAccessToken"] is False
        assert manifest["request"].endswith("_type=Patient,Observation")
        counts: dict[str, int] = {}
        for o in manifest["output"]:
            lines = c.get(o["url"]).content.splitlines()
            assert len(lines) == o["count"]
            for line in lines:
                assert orjson.loads(line)["resourceType"] == o["type"]
            counts[o["type"]] = counts.get(o["type"], 0) + len(lines)
        assert counts == {"Patient": 12, "Observation": 36}
        assert len([o for o in manifest["output"] if o["type"] == "Observation"]) == 4
        assert c.delete(status_url).status_code == 202
        assert c.get(status_url).status_code == 404
        assert c.get(manifest["output"][0]["url"]).status_code == 404
        close_exports(c)
    store.close()


def test_export_type_validation_since_and_group(tmp_path: Path) -> None:
    store = small_store(tmp_path)
    prefer = {"Prefer": "respond-async"}
    with client(store) as c:
        bad = c.get("/$export?_type=Patient,Nope", headers=prefer)
        assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
        since = c.get("/Observation/o11-2").json()["meta"]["lastUpdated"]
        c.delete("/Observation/o0-0")
        k = c.get(f"/$export?_type=Observation&_since={since}", headers=prefer)
        m = _poll(c, k.headers["content-location"]).json()
        assert m["output"] == []
        assert [d["count"] for d in m["deleted"]] == [1]
        line = orjson.loads(c.get(m["deleted"][0]["url"]).content.splitlines()[0])
        assert line["entry"][0]["request"] == {"method": "DELETE", "url": "Observation/o0-0"}
        g = c.get("/Group/inpatients/$export?_type=Patient,Encounter", headers=prefer)
        mg = _poll(c, g.headers["content-location"]).json()
        got = {o["type"]: o["count"] for o in mg["output"]}
        assert got == {"Patient": 5, "Encounter": 5}
        assert c.get("/Group/none/$export", headers=prefer).status_code == 404
        close_exports(c)
    store.close()


# ---- SMART Backend Services ------------------------------------------------------------
def _rsa() -> tuple[Any, dict[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = orjson.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="rsa1", alg="RS384")
    return key, jwk


def _ec() -> tuple[Any, dict[str, Any]]:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = orjson.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="ec1", alg="ES384")
    return key, jwk


def _assertion(
    key: Any,
    kid: str,
    alg: str,
    *,
    cid: str = "bot",
    exp: float | None = None,
    jti: str | None = None,
) -> str:
    now = time.time()
    claims = {
        "iss": cid,
        "sub": cid,
        "aud": TOKEN_URL,
        "exp": int(exp if exp is not None else now + 240),
        "jti": jti or uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def _token(c: Any, assertion: str) -> Any:
    return c.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION,
            "client_assertion": assertion,
            "scope": "system/*.read",
        },
    )


@pytest.fixture
def keys() -> dict[str, Any]:
    rk, rj = _rsa()
    ek, ej = _ec()
    return {"rsa": rk, "ec": ek, "jwks": {"keys": [rj, ej]}}


def test_smart_token_flow(tmp_path: Path, keys: dict[str, Any]) -> None:
    store = small_store(tmp_path)
    auth = SmartAuthConfig(expires_in=300)
    auth.register("bot", keys["jwks"], "system/*.read")
    with client(store, auth=auth) as c:
        cfg = c.get("/.well-known/smart-configuration").json()
        assert cfg["token_endpoint"] == TOKEN_URL
        assert "private_key_jwt" in cfg["token_endpoint_auth_methods_supported"]
        assert set(cfg["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}
        assert "client-confidential-asymmetric" in cfg["capabilities"]
        assert "security" in c.get("/metadata").json()["rest"][0]

        none = c.get("/Patient/p1")
        assert none.status_code == 401
        assert none.headers["www-authenticate"].startswith("Bearer")
        assert none.json()["resourceType"] == "OperationOutcome"

        for key, kid, alg in ((keys["rsa"], "rsa1", "RS384"), (keys["ec"], "ec1", "ES384")):
            r = _token(c, _assertion(key, kid, alg))
            assert r.status_code == 200, r.text
            tok = r.json()
            assert tok["token_type"] == "bearer" and tok["expires_in"] == 300
            assert tok["scope"] == "system/*.read"
            ok = c.get("/Patient/p1", headers={"Authorization": f"Bearer {tok['access_token']}"})
            assert ok.status_code == 200

        wrong_key, _ = _rsa()
        bad = _token(c, _assertion(wrong_key, "rsa1", "RS384"))
        assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"
        expired = _token(c, _assertion(keys["rsa"], "rsa1", "RS384", exp=time.time() - 10))
        assert expired.status_code == 400 and "expired" in expired.json()["error_description"]
        too_long = _token(c, _assertion(keys["rsa"], "rsa1", "RS384", exp=time.time() + 3600))
        assert too_long.status_code == 400
        jti = uuid.uuid4().hex
        assert _token(c, _assertion(keys["ec"], "ec1", "ES384", jti=jti)).status_code == 200
        reused = _token(c, _assertion(keys["ec"], "ec1", "ES384", jti=jti))
        assert reused.status_code == 400 and "jti" in reused.json()["error_description"]
        hs = jwt.encode(
            {
                "iss": "bot",
                "sub": "bot",
                "aud": TOKEN_URL,
                "exp": int(time.time()) + 60,
                "jti": "h",
            },
            "secret-secret-secret-secret-32by",
            algorithm="HS256",
        )
        assert _token(c, hs).json()["error"] == "invalid_client"

        tok = _token(c, _assertion(keys["rsa"], "rsa1", "RS384")).json()["access_token"]
        assert c.delete("/_admin/clients/bot").status_code == 200
        revoked = _token(c, _assertion(keys["rsa"], "rsa1", "RS384"))
        assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_client"
        assert c.get("/Patient/p1", headers={"Authorization": f"Bearer {tok}"}).status_code == 401
        reg = c.post("/_admin/clients", json={"client_id": "bot", "jwks": keys["jwks"]})
        assert reg.status_code == 201
        tok = _token(c, _assertion(keys["rsa"], "rsa1", "RS384")).json()["access_token"]
        bearer = {"Authorization": f"Bearer {tok}", "Prefer": "respond-async"}
        assert c.get("/Patient/$export?_type=Patient").status_code == 401
        k = c.get("/Patient/$export?_type=Patient,Observation", headers=bearer)
        assert k.status_code == 202
        status = k.headers["content-location"]
        assert c.get(status).status_code == 401
        for _ in range(500):
            m = c.get(status, headers=bearer)
            if m.status_code != 202:
                break
            time.sleep(0.02)
        manifest = m.json()
        assert manifest["requiresAccessToken"] is True
        assert {o["type"]: o["count"] for o in manifest["output"]} == {
            "Patient": 12,
            "Observation": 36,
        }
        url = manifest["output"][0]["url"]
        assert c.get(url).status_code == 401
        assert c.get(url, headers=bearer).status_code == 200
        close_exports(c)
    store.close()


def test_tokens_expire(tmp_path: Path, keys: dict[str, Any]) -> None:
    auth = SmartAuthConfig(expires_in=60)
    auth.register("bot", keys["jwks"])
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION,
        "client_assertion": _assertion(keys["rsa"], "rsa1", "RS384"),
    }
    tok = auth.issue(form, TOKEN_URL)["access_token"]
    assert auth.check(f"Bearer {tok}") is None
    assert auth.check(f"Bearer {tok}", now=time.time() + 61) == "token expired"


def test_the_token_endpoint_refuses_with_an_rfc6749_error(keys: dict[str, Any]) -> None:
    auth = SmartAuthConfig()
    auth.register("bot", keys["jwks"])
    with pytest.raises(TokenRequestRefused) as refused:
        auth.issue({"grant_type": "password"}, TOKEN_URL)
    assert refused.value.error == "unsupported_grant_type"
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION,
        "client_assertion": _assertion(keys["rsa"], "rsa1", "RS384", cid="stranger"),
    }
    with pytest.raises(TokenRequestRefused) as refused:
        auth.issue(form, TOKEN_URL)
    assert refused.value.error == "invalid_client"
    assert refused.value.description == "unknown or revoked client"


def test_expired_tokens_nobody_presents_again_are_forgotten(keys: dict[str, Any]) -> None:
    auth = SmartAuthConfig(expires_in=60)
    auth.register("bot", keys["jwks"])

    def issue(now: float) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION,
            "client_assertion": _assertion(keys["rsa"], "rsa1", "RS384", exp=now + 240),
        }
        return str(auth.issue(form, TOKEN_URL, now=now)["access_token"])

    start = time.time()
    first = [issue(start) for _ in range(5)]
    later = issue(start + 120)  # the first five expired at start + 60
    assert set(auth._tokens) == {later}
    assert auth.check(f"Bearer {first[0]}", now=start + 120) == "unknown token"


def test_finished_exports_beyond_the_kept_ones_are_removed(tmp_path: Path) -> None:
    from standby.sim.server.bulk_export import KEPT_FINISHED, ExportManager

    store = small_store(tmp_path)
    exports = ExportManager(store, root=tmp_path / "exports")
    jobs = []
    for _ in range(KEPT_FINISHED + 3):
        job = exports.start(request="$export", types=["Patient"], since=None, patients=None)
        for _ in range(500):
            if job.status != "running":
                break
            time.sleep(0.02)
        jobs.append(job)
    assert len(exports.jobs) == KEPT_FINISHED
    assert list(exports.jobs) == [j.id for j in jobs[-KEPT_FINISHED:]]  # the newest kept
    assert not jobs[0].dir.exists() and jobs[-1].dir.exists()
    exports.close()
    store.close()
