"""Sending email through Amazon SES (reminders and room reports)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from .errors import SentinelError


class MailError(SentinelError):
    """SES refused or failed to send; the message names the recipient and the AWS error code."""


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


class Mailer:
    def __init__(self, sender: str, *, ses_client: Any | None = None) -> None:
        if ses_client is None:
            import boto3

            ses_client = boto3.client("ses")
        self.sender = sender
        self.ses = ses_client
        self.sent = 0

    def send(self, email: Email) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.ses.send_email(
                Source=self.sender,
                Destination={"ToAddresses": [email.to]},
                Message={
                    "Subject": {"Data": email.subject[:200], "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": email.text, "Charset": "UTF-8"},
                        "Html": {"Data": email.html, "Charset": "UTF-8"},
                    },
                },
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "?")
            raise MailError(f"SES could not send to {email.to}: {code}") from exc
        except BotoCoreError as exc:
            raise MailError(f"SES could not send to {email.to}: {exc}") from exc
        self.sent += 1
        return str(answer.get("MessageId", ""))
