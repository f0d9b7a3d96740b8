"""Redaction: plant every kind of secret in log calls (structlog, stdlib, exceptions) and in real
requests, then grep the log file: none of them may be there."""
from __future__ import annotations

import logging

import structlog

from tests.telemetry.conftest import read_log

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLXBsYW50ZWQ"
SECRETS = {
    "authorization": "Bearer planted-bearer-token-123456",
    "cookie": "session=planted-cookie-value-987",
    "password": "planted-Passw0rd!",
    "token": "planted-refresh-token-abcdef",
    "api_key": "sk_test_plantedapikey0001",
    "card": "4242424242424242",
    "card_spaced": "4000 0566 5566 5556",
    "db_password": "planted-db-pw-31337",
    "jwt": JWT,
}
DATABASE_URL = f"postgresql://island:{SECRETS['db_password']}@db.internal:5432/island"


def _plant(log_dir) -> None:
    log = structlog.get_logger()
    log.info("incoming request", headers={"Authorization": SECRETS["authorization"], "Cookie": SECRETS["cookie"]})
    log.info("login attempt", email="a@example.com", password=SECRETS["password"])
    log.info("token refreshed", refresh_token=SECRETS["token"], stripe_api_key=SECRETS["api_key"])
    log.warning(f"card {SECRETS['card']} declined, retrying with {SECRETS['card_spaced']}")
    log.info("connecting", dsn=DATABASE_URL)
    log.info(f"validated {JWT} for user 42")
    logging.getLogger("uvicorn.error").warning("Authorization: %s", SECRETS["authorization"])
    logging.getLogger("api.db").error("cannot connect to %s (password=%s)", DATABASE_URL, SECRETS["db_password"])
    try:
        raise ConnectionError(f"connection to {DATABASE_URL} refused; card_number={SECRETS['card']}")
    except ConnectionError:
        log.exception("database down")
        logging.getLogger("api").exception("stdlib sees it too")


async def test_no_planted_secret_reaches_the_log_file(client, factory, log_dir):
    _plant(log_dir)
    user = await factory.renter()
    await client.post("/v1/auth/login", json={"email": user.email, "password": SECRETS["password"]},
                      headers={"Authorization": SECRETS["authorization"], "Cookie": SECRETS["cookie"]})
    await client.get(f"/v1/vehicles?q={SECRETS['card']}", headers=user.headers)
    for _ in range(2):  # the second time through the access line's memo of redacted paths/User-Agents
        await client.get(f"/v1/cards/{SECRETS['card']}", headers={"User-Agent": f"planted-agent {JWT}"})

    lines = read_log(log_dir)
    text = (log_dir / "api.log").read_text()
    assert len(lines) >= 10  # the planted lines did reach the file...
    for name, secret in SECRETS.items():
        assert secret not in text, f"{name} leaked: {secret}"
    assert user.access_token not in text
    assert "[REDACTED]" in text and "[REDACTED-PAN]" in text
    # ...and kept what is not secret, so the lines stay useful.
    assert "db.internal:5432/island" in text and "a@example.com" in text
    agents = [line["user_agent"]["original"] for line in lines if line.get("url", {}).get("path", "").startswith("/v1/cards/")]
    assert agents == ["planted-agent [REDACTED]"] * 2
    errors = [line for line in lines if line.get("error", {}).get("type") == "ConnectionError"]
    assert len(errors) == 2 and all("stack_trace" in e["error"] for e in errors)


def test_the_letters_and_digits_fast_path_still_finds_card_numbers():
    """might_hold_secret answers letters-and-digits-only text (request ids) with one digit-run search; that
    shortcut must not let a card number through, nor flag an ordinary id."""
    from exporters.logs.redact import might_hold_secret, redact_text

    assert redact_text("req4242424242424242x") == "req[REDACTED-PAN]x"
    assert redact_text("4242424242424242") == "[REDACTED-PAN]"
    assert might_hold_secret("a1234567890123b")  # 13 digits in a row: maybe a card
    assert not might_hold_secret("16ecc1109e124f07928a181207ee3b48")  # a uuid4 hex request id
    assert not might_hold_secret("123456789012")  # 12 digits: too short for a card
    assert might_hold_secret("token=abc")  # not alphanumeric: the keyword scan still runs
    assert redact_text("Bearer abcdef123456") == "Bearer [REDACTED]"
