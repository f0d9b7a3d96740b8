"""``python -m checks [TYPE...]``: every check type's options, defaults and descriptions, as Markdown.

The reference for the ``options:`` of a check in the agent's YAML, generated from the same pydantic
models that validate it, so it cannot drift from the code.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from checks import REGISTRY

_SCALARS = {"string": "string", "integer": "integer", "number": "number", "boolean": "bool", "null": "null"}


def _type_name(schema: dict[str, Any] | bool) -> str:
    """A reader's name for a JSON-schema property: "secret string", "list of integer", "a or b"."""
    if not isinstance(schema, dict):  # ``true``: anything goes
        return "any"
    if "anyOf" in schema:
        names = [_type_name(option) for option in schema["anyOf"] if option.get("type") != "null"]
        return " or ".join(names) + (" (optional)" if len(names) < len(schema["anyOf"]) else "")
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    kind = schema.get("type")
    if kind == "string" and schema.get("format") == "password":
        return "secret string"
    if kind == "string" and schema.get("format") == "file-path":
        return "file path"
    if kind == "array":
        return f"list of {_type_name(schema.get('items', {}))}"
    if kind == "object":
        return f"mapping of string to {_type_name(schema.get('additionalProperties', True))}"
    return _SCALARS.get(str(kind), "any")


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return f"`{field.default_factory()!r}`"  # type: ignore[call-arg]
    return "required" if field.default is PydanticUndefined else f"`{field.default!r}`"


def reference(types: Sequence[str] = ()) -> str:
    """The options of ``types`` (all registered types when empty) as Markdown tables."""
    lines = []
    for name in types or sorted(REGISTRY):
        check = REGISTRY[name]
        lines += [
            f"## {name}",
            "",
            (check.options_model.__doc__ or "").strip(),
            "",
            "| option | type | default | meaning |",
            "|---|---|---|---|",
        ]
        properties = check.options_model.model_json_schema()["properties"]
        for option, field in check.options_model.model_fields.items():
            cells = [f"`{option}`", _type_name(properties[option]), _default(field), field.description or ""]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the reference; exit 2 naming the unknown types, if any."""
    types = list(sys.argv[1:] if argv is None else argv)
    unknown = [name for name in types if name not in REGISTRY]
    if unknown:
        print(
            f"unknown check type(s): {', '.join(unknown)} (known: {', '.join(sorted(REGISTRY))})",
            file=sys.stderr,
        )
        return 2
    print(reference(types))
    return 0


if __name__ == "__main__":
    sys.exit(main())
