"""Secret scrubbing (unit) and the registry's contract: every check type, one shape."""

from __future__ import annotations

import inspect
import re
from urllib.parse import quote

import pytest
from pydantic import SecretStr, ValidationError

import checks
from checks import REGISTRY, http, websocket
from checks.base import CheckResult, Deadline, Options, Status
from checks.guard import guarded
from checks.scrub import option_secrets, scrub, target_secrets
from tests.support.services import free_port


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://app:s3cr@t@db:5432/rides failed", "postgresql://app:***@db:5432/rides failed"),
        ("redis://:hunter22@cache:6379/0", "redis://:***@cache:6379/0"),
        ("host=db password=hunter22 user=app", "host=db password=*** user=app"),
        ("dbname=x password='two words'", "dbname=x password='***'"),
        ('{"api_key": "abc123xyz"}', '{"api_key": "***"}'),
        ("GET /ws?token=abc.def&x=1", "GET /ws?token=***&x=1"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "Authorization: Bearer ***"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"),
        ("key sk_live_4eC39HqLyjWDarjtT1zdp7dc leaked", "key *** leaked"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl here", "jwt *** here"),
    ],
)
def test_scrub_patterns(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        'password authentication failed for user "app"',
        "basic authentication required",
        "http://db:8080/path@v2",
        'connection to server at "127.0.0.1", port 5432 failed',
    ],
)
def test_scrub_leaves_ordinary_text_alone(text: str) -> None:
    assert scrub(text) == text


def test_known_secrets_are_removed_anywhere() -> None:
    secrets = target_secrets("postgresql://app:p%40ss-w0rd@db/rides")
    assert set(secrets) == {"p%40ss-w0rd", "p@ss-w0rd", "ss-w0rd"}  # and the piece after the "@"
    assert (
        scrub("server said: bad password p@ss-w0rd for app", secrets)
        == "server said: bad password *** for app"
    )
    assert target_secrets("host=db password=kv-secret") == ("kv-secret",)
    assert target_secrets("http://db/rides") == ()
    malformed = target_secrets("postgresql://app:p@ss/w0rd:with%20odd chars@db/rides")
    assert "p@ss/w0rd:with%20odd chars" in malformed and "w0rd:with%20odd chars" in malformed
    assert "with" not in malformed and "chars" not in malformed  # short pieces are ordinary words
    options = websocket.Options(bearer_token="tok-123456", query_token="q-654321")
    assert sorted(option_secrets(options)) == ["q-654321", "tok-123456"]


async def test_guard_scrubs_outputs_and_observed_values() -> None:
    class Leaky(Options):
        api_key: SecretStr

    @guarded()
    async def leaky(target: str, options: Leaky, deadline: Deadline) -> CheckResult:
        key = options.api_key.get_secret_value()
        return CheckResult(Status.PASS, f"used {key} on {target}", observed_value=f"key={key}")

    result = await leaky("https://u:UrlSecret9@host/", Leaky(api_key="OptSecret7"), Deadline(1))
    assert "UrlSecret9" not in result.output and "OptSecret7" not in result.output
    assert result.observed_value == "key=***" and result.duration_s > 0


async def test_guard_lets_programming_errors_raise() -> None:
    @guarded()
    async def buggy(target: str, options: Options, deadline: Deadline) -> CheckResult:
        raise KeyError("a bug, not a target failure")

    with pytest.raises(KeyError):
        await buggy("x", Options(), Deadline(1))


def test_registry_shape() -> None:
    assert set(REGISTRY) == {
        "postgres",
        "redis",
        "http",
        "tcp",
        "dns",
        "tls",
        "smtp",
        "websocket",
        "elasticsearch",
        "disk",
    }
    for name, check in REGISTRY.items():
        assert check.name == name
        assert issubclass(check.options_model, Options) and check.options_model.__doc__
        assert check.options_model.model_config.get("extra") == "forbid"
        assert inspect.iscoroutinefunction(check.run)
        assert list(inspect.signature(check.run).parameters) == ["target", "options", "deadline"]
        check.options_model()  # every option has a default
        for field_name, field in check.options_model.model_fields.items():
            assert field.description, f"{name}.{field_name} is undocumented"
    assert checks.scrub("redis://:pw1@h") == "redis://:***@h"  # re-exported for the agent


def test_options_refuse_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ValidationError, match="extra_forbidden"):
        http.Options.model_validate({"methd": "GET"})
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        http.Options(body_regex="(unclosed")
    with pytest.raises(ValidationError, match="not a valid HTTP token"):
        http.Options(headers={"X Bad": "1"})
    with pytest.raises(ValidationError, match="control characters"):
        http.Options(headers={"X-Ok": "1\r\nInjected: yes"})
    with pytest.raises(ValidationError, match="less than or equal to 599"):
        http.Options(expected_status=[200, 999])
    with pytest.raises(ValidationError, match="ca_file"):
        http.Options(ca_file="/nonexistent/ca.pem")
    with pytest.raises(ValidationError, match="must not exceed warn_days"):
        REGISTRY["tls"].options_model(warn_days=5, fail_days=10)


@pytest.mark.parametrize(
    "target",
    [
        "",
        "x",
        "http://a..b/",
        "http://é.invalid/",
        "bad\x00target",
        "redis://h:99999/0",
        "localhost:-1",
        "http://[::1",
    ],
)
async def test_bad_targets_fail_without_raising(target: str) -> None:
    for name, check in REGISTRY.items():
        result = await check.run(target, check.options_model(), Deadline(0.5))
        assert result.status is Status.FAIL, f"{name} {target!r}: {result}"
        assert result.output and "Traceback" not in result.output


PASSWORD_TARGETS = {
    "postgres": "postgresql://app:{pw}@127.0.0.1:{port}/rides",
    "redis": "redis://:{pw}@127.0.0.1:{port}/0",
    "http": "http://app:{pw}@127.0.0.1:{port}/health",
    "smtp": "smtp://app:{pw}@127.0.0.1:{port}",
    "websocket": "ws://app:{pw}@127.0.0.1:{port}/v1/ws/ping?token={pw}",
    "elasticsearch": "https://elastic:{pw}@127.0.0.1:{port}",
}


@pytest.mark.parametrize("check_type", sorted(PASSWORD_TARGETS))
@pytest.mark.parametrize("password", ["Plain-Secret-123", "p@ss/w0rd:with%20odd chars"])
async def test_password_in_target_never_in_output(check_type: str, password: str) -> None:
    check = REGISTRY[check_type]
    target = PASSWORD_TARGETS[check_type].format(pw=password, port=free_port())
    result = await check.run(target, check.options_model(), Deadline(1))
    assert result.status is Status.FAIL
    pieces = {password, quote(password, safe="")} | {p for p in re.split("[/@:]", password) if len(p) >= 6}
    for piece in pieces:
        assert piece not in result.output and piece not in str(result.observed_value)


def test_options_reference_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    from checks.__main__ import main

    assert main([]) == 0
    text = capsys.readouterr().out
    for name, check in REGISTRY.items():
        assert f"## {name}" in text
        for option in check.options_model.model_fields:
            assert f"| `{option}` |" in text
    assert "| `bearer_token` | secret string (optional) | `None` |" in text
    assert main(["http", "nope"]) == 2
    assert "unknown check type(s): nope" in capsys.readouterr().err
