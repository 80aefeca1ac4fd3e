"""Rendering untrusted text (anything a portal sends) for each channel, in one place.

Every string from DocSpace may be chosen by an attacker: a failed sign-in records the login as
typed, and display names, room and file titles, group names and user agents are free text. Such a
string is only ever shown *inside* a line the sentinel writes, never as a line of its own:

- ``one_line``: control characters (C0, DEL, C1 incl. NEL, line and paragraph separators, bidi
  embeddings, overrides and isolates, zero-width and other invisible format characters) become a
  space; lone UTF-16 surrogates (valid in JSON as ``"\\ud800"``, unencodable in UTF-8) become
  U+FFFD. Every other rendering starts from this.
- ``chat``: for the AWS Chatbot ``client-markdown`` fields (Slack and Teams): also escapes
  ``& < >`` (so ``<!channel>``, ``<@U123>`` and ``<url|text>`` stay text), swaps markdown syntax
  for look-alike characters (Slack has no backslash escape), defuses ``@here``-style mentions and
  breaks ``scheme://`` and ``www.`` so a value cannot become a link.
- ``subject``: one line of single spaces, for SES subjects (SNS subjects are also ASCII-only,
  see ``publisher.email_subject``).
- ``table_cell``: a plain-text table cell that cannot break its row or add a column.

The canonical JSON keeps the exact values; only renderings for people are changed.
"""

from __future__ import annotations

import re
import unicodedata

REPLACEMENT = "\ufffd"

_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACES = re.compile(r"\s+")

# Characters shown as a space: categories Cc (controls), Cf (format: bidi, zero-width, soft
# hyphen …), Zl and Zp (U+2028/U+2029), Cs (surrogates, replaced before this). Vertical and
# other odd whitespace (\v, \f, U+0085) is Cc already.
_BLANK_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})

# Slack mrkdwn and Teams markdown syntax, replaced by characters that look alike but mean
# nothing to either client. ``&``, ``<`` and ``>`` use the entities Slack documents.
_CHAT_SYNTAX = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "*": "\u2217",  # asterisk operator: bold (Slack), emphasis (Teams)
        "_": "\uff3f",  # fullwidth low line: italics
        "~": "\u223c",  # tilde operator: strike-through
        "`": "\u02cb",  # modifier grave: code
        "[": "\uff3b",  # fullwidth brackets: [text](url) links and ![image](url)
        "]": "\uff3d",
        "|": "\u2223",  # divides: Teams tables, Slack <url|text>
        "#": "\uff03",  # fullwidth number sign: Teams headings
    }
)
# A mention is an @ that starts a word (``@here``, ``@channel``, ``@everyone``, ``@user``);
# the @ inside an e-mail address is left alone.
_MENTION = re.compile(r"(?<!\w)@")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(?=//)")
_WWW = re.compile(r"\b(www)\.", re.IGNORECASE)


def scrub(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, so it always encodes as UTF-8."""
    return _SURROGATE.sub(REPLACEMENT, text)


def _blank(char: str) -> str:
    return " " if unicodedata.category(char) in _BLANK_CATEGORIES else char


def one_line(value: object) -> str:
    """``value`` as text that cannot start, end or break a line, nor reorder the text around it."""
    text = scrub(value if isinstance(value, str) else str(value))
    if text.isascii() and text.isprintable():
        return text  # the common case, without a per-character pass
    return "".join(_blank(c) for c in text)


def _unlinked(text: str) -> str:
    """``scheme://`` and ``www.`` broken, so a mail client or chat does not make a link of it."""
    return _WWW.sub(r"\1[.]", _SCHEME.sub(r"\1[:]", text))


def mail(value: object) -> str:
    """``value`` for a plain-text e-mail line: one line, and no ``scheme://`` or ``www.`` a mail
    client would turn into a link (a room titled "Deal https://evil.example/login" must not
    look like the deep links Sentinel adds next to it)."""
    return _unlinked(one_line(value))


def chat(value: object) -> str:
    """``value`` for a Slack/Teams markdown field: one line, no markup, mention or link."""
    text = one_line(value).translate(_CHAT_SYNTAX)
    text = _MENTION.sub("\uff20", text)  # fullwidth commercial at
    return _unlinked(text)


def subject(value: object, limit: int = 200) -> str:
    """A mail subject: one line, runs of blanks as one space, at most ``limit`` characters."""
    text = _SPACES.sub(" ", one_line(value)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def table_cell(value: object) -> str:
    """A cell of a `` | ``-separated plain-text table: one line, no column separator, no link."""
    return mail(value).replace("|", "\u00a6")  # broken bar
