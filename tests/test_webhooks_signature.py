"""webhooks/signature.py: the x-docspace-signature-256 check."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from docspace_sentinel.webhooks.signature import header_value, sign, verify

SECRET = "Webhook-Secret-1!"
BODY = b'{"event":{"id":1,"trigger":"file.created"}}'


def _hex(secret: str = SECRET, body: bytes = BODY) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def test_sign_is_what_docspace_sends_upper_case_hex() -> None:
    assert sign(SECRET, BODY) == "sha256=" + _hex().upper()


@pytest.mark.parametrize(
    "value", [f"sha256={_hex().upper()}", f"sha256={_hex()}", f" sha256={_hex()} "]
)
def test_valid_signature_in_any_hex_case(value: str) -> None:
    assert verify(SECRET, BODY, value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        _hex(),  # no prefix
        f"sha1={_hex()}",
        f"sha256={_hex()[:-1]}",  # odd length
        f"sha256={_hex()}00",  # too long
        f"sha256={_hex()[:-2]}zz",  # not hex
        "sha256=" + "é" * 64,  # not ASCII
        f"sha256={_hex(body=BODY + b' ')}",  # another body
        f"sha256={_hex(secret='other')}",  # another secret
    ],
)
def test_invalid_signatures_are_refused_without_raising(value: str | None) -> None:
    assert not verify(SECRET, BODY, value)


def test_an_empty_secret_verifies_nothing() -> None:
    assert not verify("", BODY, sign("", BODY))


def test_the_secret_is_keyed_as_utf8() -> None:
    assert verify("Schlüssel-1!", BODY, "sha256=" + _hex("Schlüssel-1!"))


def test_header_lookup_is_case_insensitive_and_tolerant() -> None:
    assert header_value({"X-DocSpace-Signature-256": "sha256=ab"}) == "sha256=ab"
    assert header_value({"x-docspace-signature-256": 5}) is None
    assert header_value({"other": "x"}) is None
    assert header_value(None) is None
    assert header_value(["x"]) is None  # type: ignore[arg-type]
