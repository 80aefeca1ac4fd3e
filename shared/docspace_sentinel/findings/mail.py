"""Sending email through Amazon SES (reminders and room reports).

Subjects and bodies carry portal text (room titles, display names): the subject is made one line
(``untrusted.subject``; a room titled ``Q4 board\\r\\nBcc: x@evil.example`` stays one header), the
HTML body is escaped, and lone surrogates never reach the SDK.

SES errors are of two kinds. Some are about one recipient (a malformed address, an address SES
will not send to: ``RecipientRefused``); the caller reports it and goes on with the others.
The rest are about the account or the sender (sending paused, sender or MAIL FROM domain not
verified, quota or rate exceeded, permissions, network: ``MailError``) and fail the run, as
every other send would fail the same way.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from .errors import MailError, RecipientRefused
from .untrusted import one_line, scrub, subject

SUBJECT_MAX_CHARS = 200

# SES codes that always concern the message's recipient. ``MessageRejected`` is judged by its
# message (see ``_refuses_recipient``); every other code fails the run.
_RECIPIENT_CODES = frozenset({"InvalidParameterValue"})
# Words of a ``MessageRejected`` about the account rather than an address.
_ACCOUNT_WORDS = ("quota", "sending rate", "paused", "sending limit", "throttl", "access denied")
# What an address may not contain, whatever SES would say: blanks and controls (header
# injection), several addresses in one.
_BAD_ADDRESS = re.compile(r"[\s,;<>\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


def html_page(title: str, paragraphs: list[str], rows: list[list[str]] | None = None) -> str:
    """A minimal, escaped HTML body: a heading, paragraphs and an optional table."""
    parts = [f"<h2>{html.escape(title)}</h2>"]
    parts += [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    if rows:
        head, *body = rows
        parts.append("<table border='1' cellpadding='4' cellspacing='0'>")
        parts.append("<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>")
        for row in body:
            parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
        parts.append("</table>")
    return "<html><body>" + "\n".join(parts) + "</body></html>"


# SES's sandbox refusal lists the identities it found unverified: "Email address is not
# verified. The following identities failed the check in region EU-WEST-1: a@x, b@y".
_FAILED_IDENTITIES = re.compile(r"identities failed the check in region [^:]*:(.*)$", re.I | re.S)


def _refuses_recipient(code: str, message: str, sender: str, recipient: str = "") -> bool:
    """Whether an SES error is about this recipient alone (so the run may go on).

    SES quotes the recipient's address in its message, and an outsider chooses that address
    (``quota@evil.example``, ``xsentinel@corp.example``): it is taken out of the message before
    the message is searched for the sender or for words about the account."""
    lowered = message.lower()
    sender_address = _address(sender)
    listed = _FAILED_IDENTITIES.search(message)
    if code == "MessageRejected" and listed:
        # The sender (or its domain) among the failed identities fails every send; otherwise
        # only the recipient is unverified.
        identities = {i.strip().lower() for i in listed.group(1).split(",")}
        return not identities & {sender_address, sender_address.rpartition("@")[2]}
    if recipient and recipient.lower() != sender_address:
        lowered = lowered.replace(recipient.lower(), " ")
    if code in _RECIPIENT_CODES:
        # The sender is checked at configuration; a malformed-address error here is the
        # recipient's, unless SES names the sender.
        return sender_address not in lowered
    if code != "MessageRejected":
        return False
    # Refused for the recipient (suppression or block list) unless SES names the sender or the
    # account ("Email address not verified <sender>", "Daily message quota exceeded").
    return sender_address not in lowered and not any(w in lowered for w in _ACCOUNT_WORDS)


def _address(sender: str) -> str:
    """The bare address of ``Name <a@b>`` or ``a@b``, lower case."""
    inside = sender.rpartition("<")[2].partition(">")[0] if "<" in sender else sender
    return inside.strip().lower()


class Mailer:
    def __init__(self, sender: str, *, ses_client: Any | None = None) -> None:
        if ses_client is None:
            import boto3

            ses_client = boto3.client("ses")
        self.sender = sender
        self.ses = ses_client
        self.sent = 0

    def send(self, email: Email) -> str:
        """Send ``email``. Raises ``RecipientRefused`` for an address SES will not take and
        ``MailError`` for every other failure."""
        from botocore.exceptions import BotoCoreError, ClientError

        to = scrub(email.to)
        if not to or "@" not in to or _BAD_ADDRESS.search(to):
            raise RecipientRefused(to, "InvalidAddress", "not a single e-mail address")
        try:
            answer = self.ses.send_email(
                Source=self.sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {
                        "Data": subject(email.subject, SUBJECT_MAX_CHARS),
                        "Charset": "UTF-8",
                    },
                    "Body": {
                        "Text": {"Data": scrub(email.text), "Charset": "UTF-8"},
                        "Html": {"Data": scrub(email.html), "Charset": "UTF-8"},
                    },
                },
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "?")
            message = str(error.get("Message") or "")
            if _refuses_recipient(code, message, self.sender, to):
                raise RecipientRefused(to, code, message) from exc
            raise MailError(f"SES could not send to {one_line(to)}: {code}") from exc
        except BotoCoreError as exc:
            raise MailError(f"SES could not send to {one_line(to)}: {exc}") from exc
        self.sent += 1
        return str(answer.get("MessageId", ""))
