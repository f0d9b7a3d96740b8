"""Rendering of the booking e-mails: subject, plain text and HTML from one context dict.

Templates live beside this module in ``templates/<name>.txt`` and ``templates/<name>.html`` (Jinja2;
HTML autoescaped, so a vehicle name or a renter's name can never inject markup). The first line of the
.txt file is ``Subject: ...``. Undefined context keys raise (StrictUndefined) instead of rendering empty.

Context keys every template reads:
- ``booking_id``; ``vehicle`` (e.g. "2021 Toyota RAV4"); ``start_date`` and ``end_date`` (ISO dates);
- optional ``renter_name``, ``island``, ``currency`` (default "USD").
booking_confirmed also reads ``total_cents``; booking_cancelled reads ``refund_cents`` and optionally
``cancelled_by`` ("renter" | "host").
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import jinja2

TEMPLATES: frozenset[str] = frozenset({"booking_confirmed", "booking_cancelled"})
_CURRENCY_SYMBOLS = {"USD": "$", "BSD": "B$"}


class TemplateError(ValueError):
    """The outbox row cannot be rendered (unknown template or missing/invalid context): retrying won't help."""


def _require(value: object) -> None:
    # StrictUndefined only raises when printed or iterated, not when handed to a filter.
    if isinstance(value, jinja2.Undefined):
        raise TemplateError(f"missing context key {value._undefined_name!r}")


def format_cents(cents: int, currency: str = "USD") -> str:
    """12345 → "$123.45"; negative amounts keep their sign in front of the symbol."""
    _require(cents)
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TemplateError(f"amount {cents!r} is not an integer number of cents")
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    symbol = _CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    return f"{sign}{symbol}{whole:,}.{frac:02d}"


def format_date(value: str | dt.date) -> str:
    """"2027-01-05" → "Tue 5 Jan 2027"."""
    _require(value)
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise TemplateError(f"date {value!r} is not an ISO date") from None
    return f"{day:%a} {day.day} {day:%b %Y}"


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["money"] = format_cents
    env.filters["day"] = format_date
    return env


_TEXT = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render(template: str, context: dict) -> RenderedEmail:
    """Render ``template`` with ``context``; TemplateError when it cannot be rendered."""
    if template not in TEMPLATES:
        raise TemplateError(f"unknown e-mail template {template!r}")
    values = {"currency": "USD", "renter_name": None, "island": None, "cancelled_by": None, **context}
    try:
        text = _TEXT.get_template(f"{template}.txt").render(values)
        html = _HTML.get_template(f"{template}.html").render(values)
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{template}: {exc}") from None
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise TemplateError(f"{template}.txt must start with a 'Subject: ' line")
    return RenderedEmail(subject=first.removeprefix("Subject: ").strip(), text=body.lstrip("\n"), html=html)
