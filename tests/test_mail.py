"""SES errors: one refused recipient is reported and skipped; account-level failures fail."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from docspace_sentinel.findings.errors import MailError, RecipientRefused
from docspace_sentinel.findings.mail import Email, Mailer

SENDER = "sentinel@example.com"


def _mailer() -> tuple[Mailer, Stubber]:
    client = boto3.client(
        "ses", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return Mailer(SENDER, ses_client=client), Stubber(client)


def _email(to: str = "member@example.com") -> Email:
    return Email(to, "Reminder", "text", "<p>html</p>")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "MessageRejected",
            "Email address is not verified. The following identities failed the check in "
            "region EU-WEST-1: member@example.com",
        ),
        ("MessageRejected", "Address blacklisted."),
        ("InvalidParameterValue", "Missing final '@domain'"),
    ],
)
def test_a_refused_recipient(code: str, message: str) -> None:
    mailer, stub = _mailer()
    stub.add_client_error("send_email", service_error_code=code, service_message=message)
    with stub, pytest.raises(RecipientRefused) as caught:
        mailer.send(_email())
    assert caught.value.recipient == "member@example.com"
    assert caught.value.code == code
    assert mailer.sent == 0


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("MessageRejected", f"Email address is not verified: {SENDER}"),
        ("MessageRejected", "Daily message quota exceeded."),
        ("MessageRejected", "Maximum sending rate exceeded."),
        ("MailFromDomainNotVerified", "MAIL FROM domain is not verified"),
        ("AccountSendingPausedException", "Sending is paused for this account"),
        ("ConfigurationSetSendingPausedException", "paused"),
        ("Throttling", "Rate exceeded"),
        ("AccessDenied", "not authorized to perform ses:SendEmail"),
    ],
)
def test_account_level_failures_fail(code: str, message: str) -> None:
    mailer, stub = _mailer()
    stub.add_client_error("send_email", service_error_code=code, service_message=message)
    with stub, pytest.raises(MailError) as caught:
        mailer.send(_email())
    assert not isinstance(caught.value, RecipientRefused)


@pytest.mark.parametrize(
    "address",
    [
        "quota@evil.example",
        "paused@evil.example",
        "throttled.x@evil.example",
        "x@sending-limit.example",
        "xsentinel@example.com",
        "sentinel@example.com.evil.example",
    ],
)
@pytest.mark.parametrize(
    ("code", "template"),
    [
        (
            "MessageRejected",
            "Email address is not verified. The following identities failed the check in "
            "region EU-WEST-1: {}",
        ),
        ("MessageRejected", "Address blacklisted: {}"),
        ("InvalidParameterValue", "Domain contains illegal character: {}"),
    ],
)
def test_words_in_the_recipient_address_do_not_make_it_the_account(
    address: str, code: str, template: str
) -> None:
    # Before: the whole message was searched, so an outsider's own address (quota@…, an
    # address containing the sender's) failed every run.
    mailer, stub = _mailer()
    stub.add_client_error(
        "send_email", service_error_code=code, service_message=template.format(address)
    )
    with stub, pytest.raises(RecipientRefused):
        mailer.send(_email(address))


@pytest.mark.parametrize(
    "identities", [SENDER, f"member@example.com, {SENDER}", "example.com", SENDER.upper()]
)
def test_the_sender_among_the_failed_identities_fails_the_run(identities: str) -> None:
    mailer, stub = _mailer()
    stub.add_client_error(
        "send_email",
        service_error_code="MessageRejected",
        service_message="Email address is not verified. The following identities failed the "
        f"check in region EU-WEST-1: {identities}",
    )
    with stub, pytest.raises(MailError) as caught:
        mailer.send(_email())
    assert not isinstance(caught.value, RecipientRefused)


@pytest.mark.parametrize(
    "address", ["", "no-at-sign", "a@b.example\r\nBcc: x@evil.example", "a@b.example, c@d.example"]
)
def test_an_unusable_address_is_refused_without_calling_ses(address: str) -> None:
    mailer, stub = _mailer()
    with stub, pytest.raises(RecipientRefused):
        mailer.send(_email(address))
    stub.assert_no_pending_responses()
