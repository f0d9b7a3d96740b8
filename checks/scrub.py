"""Remove secrets from text a check produces (outputs, error messages) before anyone sees it.

Two layers, because neither alone is enough:

- patterns that catch secrets wherever they come from: the password in a URL or DSN
  (``postgresql://u:pw@h``, ``redis://:pw@h``), ``key=value`` pairs whose key says secret
  (``password=...``, ``token: ...``, ``?api_key=...``), ``Authorization`` schemes (``Bearer ...``,
  ``Basic ...``, ``ApiKey ...``) and well-known API-key shapes (Stripe, GitHub, AWS, JWTs);
- the exact secrets a check knows it used (the password parsed from its target, its ``SecretStr``
  options), replaced wherever they appear, even where no pattern would spot them (a library quoting the
  password back in an error, percent-decoded or not).
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr

MASK = "***"

# scheme://user:password@host -- the password runs to the last "@" before the path, as libpq and
# urllib read it (an unencoded "@" in a password is still scrubbed whole).
_URL_USERINFO = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s]*@", re.IGNORECASE)
_SECRET_KEYS = (
    r"password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|auth_token|api[_-]?key"
    r"|apikey|private[_-]?key|signature"
)
# password=..., "token": "...", ?api_key=...; the value is quoted or runs to whitespace / & / , / ; / ).
_KEY_VALUE = re.compile(
    rf"(?P<head>(?<![a-z0-9_])(?:{_SECRET_KEYS})[\"']?\s*[=:]\s*)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s&,;)}\]]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<head>\b(?:bearer|apikey)\s+)[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE)
_BASIC = re.compile(r"(?P<head>\bbasic\s+)(?P<value>[A-Za-z0-9+/]{4,}={0,2})", re.IGNORECASE)
_KEY_SHAPES = re.compile(
    r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}"  # Stripe keys
    r"|\bwhsec_[A-Za-z0-9]{8,}"  # Stripe webhook secrets
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"  # GitHub tokens
    r"|\bAKIA[0-9A-Z]{16}\b"  # AWS access key ids
    r"|\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+"  # JWTs
)


def _mask_value(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('head')}{quote}{MASK}{quote}"


def _mask_basic(match: re.Match[str]) -> str:
    """Mask "Basic <base64 of user:password>", but not the words in "basic authentication required"."""
    try:
        decoded = base64.b64decode(match.group("value"), validate=True)
    except ValueError:
        return match.group(0)
    return f"{match.group('head')}{MASK}" if b":" in decoded else match.group(0)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every recognisable secret, and every one of ``secrets``, replaced by ``***``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    text = _KEY_VALUE.sub(_mask_value, text)
    text = _BEARER.sub(lambda m: f"{m.group('head')}{MASK}", text)
    text = _BASIC.sub(_mask_basic, text)
    return _KEY_SHAPES.sub(MASK, text)


_RAW_USERINFO = re.compile(r"^[a-z][a-z0-9+.-]*://[^:/@\s]*:(?P<password>.*)@", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(?<![a-z_])password\s*=\s*('([^']*)'|(\S+))", re.IGNORECASE)
_SEPARATORS = re.compile(r"[/@:?#&= ]")
_MIN_PIECE = 6


@functools.lru_cache(maxsize=512)
def target_secrets(target: str) -> tuple[str, ...]:
    """The password in ``target`` (raw, percent-decoded, and the pieces a parser may quote), or nothing.

    A malformed URL (an unencoded "/" or "@" in the password) is read up to its last "@", the way a
    person meant it; parsers that choke on it quote a piece of it ("unexpected spaces found in
    'w0rd ...'"), so every run of pieces between separators is a secret too, down to 6 characters
    (shorter pieces are ordinary words more often than not). Cached: a check's target rarely changes.
    """
    candidates: set[str] = set()
    try:
        if password := urlsplit(target).password:
            candidates.add(password)
    except ValueError:
        pass
    if raw := _RAW_USERINFO.match(target.strip()):
        candidates.add(raw.group("password"))
    if kv := _KV_PASSWORD.search(target):
        candidates.add(kv.group(2) or kv.group(3))
    secrets: set[str] = set()
    for password in filter(None, candidates):
        for form in (password, unquote(password)):
            secrets.add(form)
            cuts = [0, *(m.end() for m in _SEPARATORS.finditer(form))]
            ends = [*(m.start() for m in _SEPARATORS.finditer(form)), len(form)]
            secrets.update(form[i:j] for i in cuts for j in ends if j - i >= _MIN_PIECE)
    return tuple(sorted(secrets, key=len, reverse=True))


def option_secrets(options: BaseModel) -> list[str]:
    """The values of every ``SecretStr`` field of ``options`` (tokens, passwords, API keys)."""
    found: list[str] = []
    for name in type(options).model_fields:
        value = getattr(options, name)
        if isinstance(value, SecretStr) and value.get_secret_value():
            found.append(value.get_secret_value())
    return found
