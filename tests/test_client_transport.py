"""The retry rules and the error shapes of the DocSpace wire."""

from __future__ import annotations

import logging

import pytest
import requests
import responses

from docspace_sentinel.errors import (
    AuthError,
    BadRequest,
    DocSpaceError,
    Forbidden,
    IpBlocked,
    MalformedResponse,
    NotFound,
    PaymentRequired,
    RateLimited,
    ServerError,
    TransportError,
)
from docspace_sentinel.settings import RetryPolicy
from tests.support import API, KEY, Sleeps, envelope, fixture, make_client

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
