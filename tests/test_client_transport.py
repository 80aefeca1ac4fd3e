"""The retry rules and the error shapes of the DocSpace wire."""

from __future__ import annotations

import gzip
import io
import json
import logging
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from docspace_sentinel.docspace.client import DocSpaceClient
from docspace_sentinel.docspace.errors import (
    AuthError,
    BadRequest,
    DocSpaceError,
    Forbidden,
    IpBlocked,
    MalformedResponse,
    NotFound,
    PaymentRequired,
    RateLimited,
    Redirected,
    ResponseTooLarge,
    ServerError,
    TransportError,
)
from docspace_sentinel.docspace.response_body import MAX_RESPONSE_BYTES
from docspace_sentinel.docspace.secret import Secret
from docspace_sentinel.docspace.settings import ClientSettings, RetryPolicy
from docspace_sentinel.runtime.errors import ConfigError
from tests.support import API, KEY, PORTAL, Sleeps, envelope, fixture, make_client

ME = f"{API}/people/@self"
USER = {"id": "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11", "displayName": "John Doe"}


@responses.activate
def test_sends_bearer_key_and_unwraps_envelope() -> None:
    responses.get(ME, json=envelope(USER))
    user = make_client().me()
    assert user.display_name == "John Doe"
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {KEY}"


@responses.activate
def test_429_honours_retry_after_seconds() -> None:
    responses.get(ME, status=429, headers={"Retry-After": "7"})
    responses.get(ME, json=envelope(USER))
    sleeps = Sleeps()
    make_client(sleeps=sleeps).me()
    assert len(sleeps) == 1
    # Retry-After is the floor; a little jitter (at most 10 %) spreads concurrent callers.
    assert 7.0 <= sleeps[0] <= 7.7


@responses.activate
def test_429_retry_after_longer_than_the_cap_is_not_waited_for() -> None:
    responses.get(ME, status=429, headers={"Retry-After": "86400"})
    sleeps = Sleeps()
    with pytest.raises(RateLimited) as caught:
        make_client(sleeps=sleeps).me()
    assert caught.value.retry_after == 86400
    assert sleeps == []
    assert len(responses.calls) == 1


@responses.activate
def test_429_without_retry_after_backs_off_exponentially() -> None:
    for _ in range(3):
        responses.get(ME, status=429)
    responses.get(ME, json=envelope(USER))
    sleeps = Sleeps()
    retry = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=100.0)
    make_client(sleeps=sleeps, retry=retry).me()
    assert len(sleeps) == 3
    # Equal jitter: attempt n waits between half and all of base * 2**(n-1).
    for n, slept in enumerate(sleeps, start=1):
        ceiling = 2 ** (n - 1)
        assert ceiling / 2 <= slept <= ceiling


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_5xx_is_retried(status: int) -> None:
    responses.get(ME, status=status, json=fixture("error_404.json") | {"statusCode": status})
    responses.get(ME, json=envelope(USER))
    sleeps = Sleeps()
    assert make_client(sleeps=sleeps).me().id == USER["id"]
    assert len(sleeps) == 1


@responses.activate
def test_attempts_are_bounded() -> None:
    responses.get(ME, status=503)
    sleeps = Sleeps()
    with pytest.raises(ServerError):
        make_client(sleeps=sleeps, retry=RetryPolicy(max_attempts=3)).me()
    assert len(responses.calls) == 3
    assert len(sleeps) == 2


@responses.activate
def test_total_retry_time_is_bounded() -> None:
    responses.get(ME, status=429, headers={"Retry-After": "30"})
    sleeps = Sleeps()
    with pytest.raises(RateLimited):
        make_client(sleeps=sleeps, retry=RetryPolicy(max_attempts=10, total_budget=50)).me()
    # One 30 s wait fits in a 50 s budget; a second would not.
    assert len(sleeps) == 1


@responses.activate
def test_no_sleep_that_would_outlive_the_lambda() -> None:
    responses.get(ME, status=429, headers={"Retry-After": "10"})
    sleeps = Sleeps()
    with pytest.raises(RateLimited):
        make_client(sleeps=sleeps, remaining_time=lambda: 12.0).me()
    assert sleeps == []


@responses.activate
def test_connection_errors_and_timeouts_are_retried() -> None:
    responses.get(ME, body=requests.ConnectionError("reset by peer"))
    responses.get(ME, body=requests.ReadTimeout("read timed out"))
    responses.get(ME, json=envelope(USER))
    sleeps = Sleeps()
    assert make_client(sleeps=sleeps).me().id == USER["id"]
    assert len(sleeps) == 2


@responses.activate
def test_transport_error_after_last_attempt() -> None:
    responses.get(ME, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(TransportError):
        make_client(retry=RetryPolicy(max_attempts=2)).me()


@responses.activate
def test_post_is_not_resent_after_an_unknown_outcome() -> None:
    # A timeout on POST may have created the room already: do not create it twice.
    responses.post(f"{API}/files/rooms", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(TransportError):
        make_client().create_room("Deal room")
    assert len(responses.calls) == 1


@responses.activate
def test_post_is_resent_after_429() -> None:
    responses.post(f"{API}/files/rooms", status=429, headers={"Retry-After": "1"})
    responses.post(
        f"{API}/files/rooms", json=envelope({"id": 77, "title": "Deal room", "roomType": 8})
    )
    room = make_client().create_room("Deal room")
    assert room.id == 77 and room.is_vdr


@responses.activate
def test_malformed_json_is_retried_then_raised() -> None:
    responses.get(ME, body='{"response": {"id": "tru', content_type="application/json")
    with pytest.raises(MalformedResponse):
        make_client(retry=RetryPolicy(max_attempts=2)).me()
    assert len(responses.calls) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequest), (402, PaymentRequired), (403, Forbidden), (404, NotFound)],
)
@responses.activate
def test_client_errors_raise_at_once_with_the_server_message(status: int, error: type) -> None:
    body = {"error": {"message": f"message {status}", "type": None, "stack": None, "hresult": 0}}
    responses.get(ME, status=status, json=body | {"status": 1, "statusCode": status})
    sleeps = Sleeps()
    with pytest.raises(error) as caught:
        make_client(sleeps=sleeps).me()
    assert caught.value.message == f"message {status}"
    assert caught.value.status_code == status
    assert sleeps == [] and len(responses.calls) == 1


@responses.activate
def test_validation_error_inside_success_shaped_envelope() -> None:
    responses.get(ME, status=400, json=fixture("validation_error.json"))
    with pytest.raises(BadRequest) as caught:
        make_client().me()
    assert caught.value.errors == {"count": ["The field Count must be between 1 and 100."]}
    assert "between 1 and 100" in str(caught.value)


@responses.activate
def test_status_1_is_an_error_even_under_http_200() -> None:
    responses.get(ME, status=200, json=fixture("error_404.json"))
    with pytest.raises(NotFound, match="could not be found"):
        make_client().me()


@responses.activate
def test_401_with_empty_body() -> None:
    responses.get(ME, status=401, body=b"")
    with pytest.raises(AuthError, match="rejected the API key"):
        make_client().me()
    assert len(responses.calls) == 1


@responses.activate
def test_403_bare_string_is_an_ip_block() -> None:
    responses.get(
        ME, status=403, body="The access to the portal is restricted", content_type="text/plain"
    )
    with pytest.raises(IpBlocked):
        make_client().me()


@responses.activate
def test_403_empty_body_is_a_missing_scope() -> None:
    responses.get(ME, status=403, body=b"")
    with pytest.raises(Forbidden, match="scope") as caught:
        make_client().me()
    assert not isinstance(caught.value, IpBlocked)


@responses.activate
def test_404_error_body() -> None:
    responses.get(
        f"{API}/people/9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11",
        status=404,
        json=fixture("error_404.json"),
    )
    with pytest.raises(NotFound, match="The user could not be found"):
        make_client().user("9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11")


@responses.activate
def test_the_key_never_appears_in_logs_reprs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    responses.get(ME, status=503)
    client = make_client(retry=RetryPolicy(max_attempts=2))
    with pytest.raises(DocSpaceError) as caught:
        client.me()
    texts = [
        caplog.text,
        repr(client),
        repr(client.settings),
        str(caught.value),
        repr(caught.value),
    ]
    texts += [repr(client.transport.session.auth), repr(dict(client.transport.session.headers))]
    assert caplog.text  # the retry was logged …
    for text in texts:
        assert KEY not in text  # … without the key


def test_proxies_and_ca_bundle_are_read_once_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/private-ca.pem")
    client = make_client()
    session = client.transport.session
    assert session.trust_env is False
    assert session.proxies.get("https") == "http://proxy.internal:3128"
    assert session.verify == "/etc/ssl/private-ca.pem"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert make_client().transport.session.verify is True


# -- lone surrogates ----------------------------------------------------------------------------

JOHN_ID = USER["id"]


def _raw_user(display_name: str) -> bytes:
    """An envelope whose ``displayName`` is written as raw JSON text (escapes kept as sent)."""
    user = f'{{"id": "{JOHN_ID}", "displayName": "{display_name}", "email": "j@example.com"}}'
    return f'{{"response": {user}, "count": 1, "status": 0, "statusCode": 200}}'.encode()


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("a\\ud800b", "a\ufffdb"),  # a lone high surrogate
        ("a\\uDC00b", "a\ufffdb"),  # a lone low surrogate, upper-case hex
        ("\\uDBFF", "\ufffd"),
        ("x\\ude00\\ud83d", "x\ufffd\ufffd"),  # a pair the wrong way round is two lone halves
        ("\\ud83d\\ude00 ok", "\U0001f600 ok"),  # a real pair (an emoji) stays intact
        ("\\uD83D\\uDE00\\ud800", "\U0001f600\ufffd"),
    ],
)
@responses.activate
def test_lone_surrogates_in_portal_json_become_replacement_characters(
    wire: str, expected: str
) -> None:
    responses.get(ME, body=_raw_user(wire), content_type="application/json")
    user = make_client().me()
    assert user.display_name == expected
    user.display_name.encode("utf-8")  # what boto3, SNS and SES do with it downstream


@responses.activate
def test_surrogates_as_utf8_bytes_keys_and_nested_lists_are_replaced() -> None:
    # json.loads passes UTF-8-encoded surrogates (ED A0 80) through, as it does \ud800.
    body = (
        b'{"response": [{"id": 1, "date": "2025-03-04T12:15:42.0000000Z", "actionId": 5002,'
        b' "action": "F \xed\xa0\x80", "target": ["\\udfff", ["x\\ud800"]], "k\\ud801": 1}],'
        b' "count": 1, "status": 0, "statusCode": 200}'
    )
    responses.get(f"{API}/security/audit/events/last", body=body, content_type="application/json")
    envelope_ = make_client().transport.request("GET", "security/audit/events/last")
    row = envelope_.response[0]
    assert row["action"] == "F \ufffd"
    assert row["target"] == ["\ufffd", ["x\ufffd"]]
    assert "k\ufffd" in row
    json.dumps(envelope_.response, ensure_ascii=False).encode("utf-8")


# -- error bodies: bounded and redacted -------------------------------------------------------

PROXY_PAGE = (
    "<html><body><h1>502 Bad Gateway</h1><pre>GET /api/2.0/people/@self\n"
    f"Authorization: Bearer {KEY}\nX-Other: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig\n</pre>"
    + "<p>padding</p>" * 80_000
    + "</body></html>"
)


def _all_text(error: BaseException) -> str:
    return "\n".join([str(error), repr(error), repr(error.args), getattr(error, "message", "")])


@pytest.mark.parametrize("status", [403, 404, 418, 500])
@responses.activate
def test_error_bodies_are_cut_short_and_never_hold_the_key(status: int) -> None:
    responses.get(ME, status=status, body=PROXY_PAGE, content_type="text/html")
    with pytest.raises(DocSpaceError) as caught:
        make_client(retry=RetryPolicy(max_attempts=1)).me()
    text = _all_text(caught.value)
    assert KEY not in text
    assert "eyJhbGciOiJIUzI1NiJ9" not in text  # any bearer token, not only ours
    assert len(str(caught.value)) < 600
    assert "502 Bad Gateway" in str(caught.value)  # the start of the body still says what it was


@responses.activate
def test_error_messages_in_the_json_envelope_are_cut_and_redacted() -> None:
    message = f"upstream said: Authorization: {KEY} " + "x" * 1_000_000
    body = {"error": {"message": message}, "status": 1, "statusCode": 400}
    responses.get(ME, status=400, json=body)
    with pytest.raises(BadRequest) as caught:
        make_client().me()
    assert KEY not in _all_text(caught.value)
    assert len(caught.value.message) < 600


@responses.activate
def test_validation_errors_are_bounded_and_redacted() -> None:
    errors = {f"field{i}": [f"Bearer {KEY} " + "y" * 2_000] * 8 for i in range(100)}
    body = {"response": {"title": "One or more validation errors occurred.", "errors": errors}}
    responses.get(ME, status=400, json=body | {"status": 1, "statusCode": 400})
    with pytest.raises(BadRequest) as caught:
        make_client().me()
    error = caught.value
    assert len(error.errors) <= 20
    assert all(len(v) <= 5 and all(len(m) < 300 for m in v) for v in error.errors.values())
    assert KEY not in _all_text(error) + repr(error.errors)
    assert len(str(error)) < 600


@responses.activate
def test_a_logged_retry_holds_no_body(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    responses.get(ME, status=503, body=PROXY_PAGE)
    with pytest.raises(ServerError) as caught:
        make_client(retry=RetryPolicy(max_attempts=2)).me()
    assert caplog.text and KEY not in caplog.text
    assert KEY not in _all_text(caught.value)


# -- redirects ------------------------------------------------------------------------------------

ELSEWHERE = "https://elsewhere.example.net/api/2.0/people/@self"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@responses.activate
def test_a_redirect_is_not_followed_and_names_the_location(status: int) -> None:
    responses.get(ME, status=status, headers={"Location": ELSEWHERE})
    # What the other origin would say, unauthenticated: the owner.
    responses.get(ELSEWHERE, json=envelope(USER | {"isOwner": True, "isAdmin": True}))
    sleeps = Sleeps()
    with pytest.raises(Redirected) as caught:
        make_client(sleeps=sleeps).me()
    assert len(responses.calls) == 1 and sleeps == []  # not followed, not retried
    assert caught.value.status_code == status
    assert caught.value.location == ELSEWHERE
    assert "elsewhere.example.net" in str(caught.value)


@responses.activate
def test_a_redirect_of_a_write_is_not_followed() -> None:
    responses.put(f"{API}/people/status/2", status=307, headers={"Location": ELSEWHERE})
    with pytest.raises(Redirected):
        make_client().set_user_status([JOHN_ID], 2)
    assert len(responses.calls) == 1


@responses.activate
def test_a_redirect_location_is_redacted_and_cut() -> None:
    location = f"https://user:{KEY}@elsewhere.example.net/login?auth=Bearer%20{KEY}&" + "q" * 5000
    responses.get(ME, status=302, headers={"Location": location})
    with pytest.raises(Redirected) as caught:
        make_client().me()
    assert KEY not in _all_text(caught.value) + str(caught.value.location)
    assert len(caught.value.location or "") < 300
    assert "elsewhere.example.net" in str(caught.value)


# -- a rotated key ------------------------------------------------------------------------------

NEW_KEY = "sk-test-rotated-fedcba9876543210"


class Reloads:
    """Stands in for the forced Secrets Manager read; counts its calls."""

    def __init__(self, *keys: str) -> None:
        self.keys = list(keys)
        self.calls = 0

    def __call__(self) -> Secret:
        self.calls += 1
        return Secret(self.keys[min(self.calls, len(self.keys)) - 1])


def _rotating_client(reload: Reloads | None, **options: Any) -> DocSpaceClient:
    settings = ClientSettings(
        url=PORTAL,
        api_key=Secret(KEY),
        timeout=5.0,
        retry=RetryPolicy(max_attempts=4),
        requests_per_second=0.0,
        reload_api_key=reload,
    )
    return DocSpaceClient(settings, sleep=Sleeps(), rng=random.Random(1), **options)


def _auth(call: Any) -> str:
    return str(call.request.headers["Authorization"])


@responses.activate
def test_a_401_reads_the_key_again_and_resends_once() -> None:
    responses.get(
        ME, status=401, match=[matchers.header_matcher({"Authorization": f"Bearer {KEY}"})]
    )
    responses.get(
        ME,
        json=envelope(USER),
        match=[matchers.header_matcher({"Authorization": f"Bearer {NEW_KEY}"})],
    )
    reload = Reloads(NEW_KEY)
    client = _rotating_client(reload)
    assert client.me().id == JOHN_ID
    assert reload.calls == 1
    assert [_auth(c) for c in responses.calls] == [f"Bearer {KEY}", f"Bearer {NEW_KEY}"]
    client.me()  # later requests use the new key straight away
    assert reload.calls == 1 and _auth(responses.calls[-1]) == f"Bearer {NEW_KEY}"


@responses.activate
def test_a_401_with_the_same_key_in_the_secret_is_not_resent() -> None:
    responses.get(ME, status=401)
    reload = Reloads(KEY)
    with pytest.raises(AuthError):
        _rotating_client(reload).me()
    assert reload.calls == 1 and len(responses.calls) == 1


@responses.activate
def test_a_401_is_reread_and_resent_at_most_once() -> None:
    responses.get(ME, status=401)
    reload = Reloads(NEW_KEY, "sk-test-a-third-key-000000")
    client = _rotating_client(reload)
    with pytest.raises(AuthError):
        client.me()
    assert reload.calls == 1 and len(responses.calls) == 2
    with pytest.raises(AuthError):  # the next request does not read the secret again
        client.me()
    assert reload.calls == 1 and len(responses.calls) == 3


@responses.activate
def test_a_plain_key_is_not_reread_on_401() -> None:
    responses.get(ME, status=401)
    with pytest.raises(AuthError):
        _rotating_client(None).me()
    assert len(responses.calls) == 1


@responses.activate
def test_a_failed_reread_reports_the_401() -> None:
    def broken() -> Secret:
        raise ConfigError("DOCSPACE_API_KEY_SECRET", "could not read secret 'x'")

    responses.get(ME, status=401)
    settings = ClientSettings(url=PORTAL, api_key=Secret(KEY), reload_api_key=broken)
    with pytest.raises(AuthError):
        DocSpaceClient(settings, sleep=Sleeps()).me()
    assert len(responses.calls) == 1


def _gzip_envelope(inflated: int) -> bytes:
    """A gzip body whose one string inflates to ``inflated`` bytes (a few KB on the wire)."""
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9) as packed:
        packed.write(b'{"status":0,"response":{"id":"x","displayName":"')
        for _ in range(inflated // 2**20):
            packed.write(b"a" * 2**20)
        packed.write(b'"},"count":1}')
    return raw.getvalue()


@responses.activate
def test_a_body_that_inflates_past_the_cap_is_refused_and_not_retried() -> None:
    # Before, requests inflated the whole body into memory (400 KB of gzip: 1.2 GB RSS).
    body = _gzip_envelope(MAX_RESPONSE_BYTES + 2**20)
    assert len(body) < 64 * 1024
    responses.get(ME, body=body, headers={"Content-Encoding": "gzip"})
    with pytest.raises(ResponseTooLarge) as caught:
        make_client().me()
    assert isinstance(caught.value, MalformedResponse)
    assert len(responses.calls) == 1


@responses.activate
def test_a_plain_body_past_the_cap_is_refused() -> None:
    responses.get(ME, body=b" " * (MAX_RESPONSE_BYTES + 1))
    with pytest.raises(ResponseTooLarge):
        make_client().me()


@responses.activate
def test_a_gzip_body_under_the_cap_is_read_whole() -> None:
    responses.get(ME, body=_gzip_envelope(2 * 2**20), headers={"Content-Encoding": "gzip"})
    envelope = make_client().transport.request("GET", "people/@self")
    assert envelope.response["displayName"] == "a" * 2 * 2**20


def test_after_a_refused_body_the_client_goes_on_over_real_http() -> None:
    """The refused body is not read to its end: its connection is closed, not pooled."""
    bomb = _gzip_envelope(MAX_RESPONSE_BYTES + 2**20)
    small = json.dumps(envelope({"id": "x"})).encode()
    answers = iter([bomb, small])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = next(answers)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if body is bomb:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = make_client(url=f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(ResponseTooLarge):
            client.transport.request("GET", "people/@self")
        assert client.transport.request("GET", "people/@self").response == {"id": "x"}
        client.close()
    finally:
        server.shutdown()
        server.server_close()
