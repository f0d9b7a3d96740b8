"""``${NAME}`` and ``${NAME:-default}`` substitution in the parsed YAML tree.

Substitution happens after parsing, string by string, so an error can name the key whose value referred
to a missing variable, and a value containing YAML syntax (a ``#`` or ``: `` in a password) cannot change
the document's structure. ``$${`` stays a literal ``${``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REF = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class MissingVariable(Exception):
    """A ``${NAME}`` without default refers to an unset environment variable."""

    def __init__(self, path: str, name: str) -> None:
        super().__init__(f"environment variable {name} is not set (write ${{{name}:-default}} for a default)")
        self.path = path
        self.name = name


def _substitute(text: str, env: Mapping[str, str], path: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise MissingVariable(path, name)
            return default
        return value

    return _REF.sub(replace, text)


def interpolate(node: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Return ``node`` with every string's ``${...}`` references replaced from ``env``.

    Raises MissingVariable naming the dotted key path (``checks.postgres.target``) of the first reference
    to an unset variable without a default.
    """
    if isinstance(node, str):
        return _substitute(node, env, path)
    if isinstance(node, dict):
        return {key: interpolate(value, env, f"{path}.{key}" if path else str(key)) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(value, env, f"{path}[{index}]") for index, value in enumerate(node)]
    return node
