"""The wrapper every check's ``run`` goes through: failures of the target become ``fail`` results.

A check module writes only its happy path and lets errors rise; ``@guarded(SomeLibraryError, ...)``
turns a DeadlineExceeded into "timed out during <step> after <t>s", and an error of the probed thing
(refused connection, DNS failure, TLS failure, a library's protocol error) into "<step>: <reason>".
Anything else (a bug in the check) still raises: the agent reports those as "check raised ...".
Every output is scrubbed of secrets and every result gets its duration.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import TypeVar

from checks.base import CheckResult, Deadline, DeadlineExceeded, Options, Status
from checks.scrub import option_secrets, scrub, target_secrets

O = TypeVar("O", bound=Options)
RunFn = Callable[[str, O, Deadline], Awaitable[CheckResult]]


class TargetError(ValueError):
    """The target string or the thing behind it is unusable in a way the check detected itself."""


# Errors that always mean "the target (or the network to it) failed", whatever the protocol.
# TimeoutError is an OSError: a library's own timeout counts as the target's failure too. UnicodeError is
# what the IDNA codec raises for a host name that cannot exist ("a..b", a label over 63 characters).
COMMON_TARGET_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    asyncio.LimitOverrunError,
    UnicodeError,
    TargetError,
)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


# Causes precise enough to be worth digging out from under a library's generic wrapper
# (httpx's "All connection attempts failed" hides a ConnectionRefusedError).
_ROOT_CAUSES = (ConnectionRefusedError, ConnectionResetError, socket.gaierror, ssl.SSLError)


def _root_cause(exc: BaseException) -> BaseException | None:
    seen = 0
    cause = exc.__cause__ or exc.__context__
    while cause is not None and seen < 8:
        if isinstance(cause, _ROOT_CAUSES):
            return cause
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return None


def describe_error(exc: BaseException) -> str:
    """A short human reason for ``exc``: "connection refused", "DNS lookup failed: ...", "TLS ..."."""
    if not isinstance(exc, _ROOT_CAUSES):
        root = _root_cause(exc)
        if root is not None:
            return describe_error(root)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"DNS lookup failed: {exc.strerror or exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verify failed: {exc.verify_message or exc.reason or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, asyncio.IncompleteReadError):
        return f"connection closed by the server after {len(exc.partial)} bytes"
    if isinstance(exc, TimeoutError):
        return f"timed out ({exc})" if str(exc) else "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    # First line only: libpq and friends append multi-line hints ("Is the server running ...?").
    text = " ".join(str(exc).strip().split("\n", 1)[0].split())
    # Libraries often wrap the real cause; name it when the wrapper says nothing useful.
    if not text and exc.__cause__ is not None:
        return describe_error(exc.__cause__)
    return text or type(exc).__name__


def fail(output: str, deadline: Deadline) -> CheckResult:
    """A ``fail`` result with ``output`` and what the check measured before it failed."""
    return CheckResult(Status.FAIL, output, measurements=dict(deadline.partial))


def guarded(*target_errors: type[BaseException]) -> Callable[[RunFn[O]], RunFn[O]]:
    """Decorate a check's ``run``: ``target_errors`` (plus the common ones) become fail results."""
    caught = COMMON_TARGET_ERRORS + target_errors

    def decorate(fn: RunFn[O]) -> RunFn[O]:
        @functools.wraps(fn)
        async def run(target: str, options: O, deadline: Deadline) -> CheckResult:
            try:
                if _CONTROL_CHARACTERS.search(target):
                    raise TargetError("target contains control characters")
                result = await fn(target, options, deadline)
            except DeadlineExceeded as exc:
                result = fail(f"timed out during {exc.step} after {deadline.timeout_s:g}s", deadline)
            except TargetError as exc:
                result = fail(str(exc), deadline)
            except caught as exc:
                result = fail(f"{deadline.current_step}: {describe_error(exc)}", deadline)
            return _finish(result, target, options, deadline)

        return run

    return decorate


def _finish(result: CheckResult, target: str, options: Options, deadline: Deadline) -> CheckResult:
    secrets = [*target_secrets(target), *option_secrets(options)]
    observed = result.observed_value
    if isinstance(observed, str):
        observed = scrub(observed, secrets)
    return dataclasses.replace(
        result,
        output=scrub(result.output, secrets),
        observed_value=observed,
        duration_s=result.duration_s or deadline.elapsed(),
    )
