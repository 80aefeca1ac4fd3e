"""Reading and decoding a DocSpace response body: the size cap, then JSON without lone surrogates.

``read_body`` refuses a body past ``MAX_RESPONSE_BYTES`` (decoded) and maps a broken read to a
``TransportError``; ``decode_json`` parses it, or returns the text when it is not JSON, and
replaces any lone UTF-16 surrogate with U+FFFD (no UTF-8 encoder downstream accepts one).
"""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from .errors import MalformedResponse, ResponseTooLarge, TransportError

#: The largest response body accepted, decoded. A page of 100 rows is well under 1 MiB; the
#: JSON of a body this size may take some 200 MB in memory (a 256 MB function).
MAX_RESPONSE_BYTES = 8 * 2**20
_READ_CHUNK = 2**20


def read_body(response: requests.Response, method: str, path: str) -> bytes:
    """The body, decoded (gzip, deflate), refused past ``MAX_RESPONSE_BYTES``: a few hundred KB
    on the wire may inflate to gigabytes. Read in chunks, so at most one chunk past the cap is
    held. The connection goes back to the pool when the body was read whole, else it is closed."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(_READ_CHUNK):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise ResponseTooLarge(
                    f"the response is larger than {MAX_RESPONSE_BYTES} bytes; refused",
                    status_code=response.status_code,
                    method=method,
                    path=path,
                )
            chunks.append(chunk)
    except requests.exceptions.ContentDecodingError:
        raise MalformedResponse(
            "the response body could not be decoded (Content-Encoding)",
            status_code=response.status_code,
            method=method,
            path=path,
        ) from None
    except requests.Timeout as exc:
        raise TransportError(f"timed out: {type(exc).__name__}", method=method, path=path) from None
    except requests.RequestException as exc:
        raise TransportError(
            f"reading the response failed: {type(exc).__name__}", method=method, path=path
        ) from None
    finally:
        response.close()
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


# A JSON escape of a UTF-16 surrogate (backslash-u D800 to DFFF, either case), or one encoded as
# UTF-8 bytes (ED A0-BF ..), which ``json.loads`` lets through as well ("surrogatepass").
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE_BYTES = re.compile(rb"\xed[\xa0-\xbf]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def decode_json(content: bytes) -> Any:
    if not content:
        return ""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return content.decode("utf-8", "replace")
    if _may_hold_surrogates(content):
        body = _replace_lone_surrogates(body)
    return body


def _may_hold_surrogates(content: bytes) -> bool:
    """Cheap screen over the raw bytes (pages are benchmarked): a byte search for a backslash
    or the byte ED first, the regexes only when one is there."""
    if b"\\" in content and _SURROGATE_ESCAPE.search(content) is not None:
        return True
    if b"\xed" in content and _SURROGATE_BYTES.search(content) is not None:
        return True
    # UTF-16 and UTF-32 JSON (json.loads detects them by their NUL bytes or BOM): not screened.
    return b"\x00" in content[:4] or content[:2] in (b"\xff\xfe", b"\xfe\xff")


def _replace_lone_surrogates(body: Any) -> Any:
    """Replace every unpaired surrogate in the decoded strings (keys too) with U+FFFD.

    ``json.loads`` joins a valid pair (``\\ud83d\\ude00``) into one astral character, so any
    surrogate left in a string is a lone one, which no UTF-8 encoder (boto3, SNS, e-mail)
    accepts. Walks with a stack, not recursion: the parser allows deeper nesting than a
    recursive walk from here would. The decoded structure is fresh, so it is fixed in place."""

    def fixed(text: str) -> str:
        return _LONE_SURROGATE.sub("\ufffd", text) if _LONE_SURROGATE.search(text) else text

    if isinstance(body, str):
        return fixed(body)
    stack: list[Any] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = fixed(item)
                elif isinstance(item, list | dict):
                    stack.append(item)
        elif isinstance(node, dict):
            if any(_LONE_SURROGATE.search(key) for key in node):
                items = [(fixed(key), value) for key, value in node.items()]
                node.clear()
                node.update(items)
            for key, item in node.items():
                if isinstance(item, str):
                    node[key] = fixed(item)
                elif isinstance(item, list | dict):
                    stack.append(item)
    return body
