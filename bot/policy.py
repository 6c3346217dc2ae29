"""Reading the policy file: TOML in, a validated Policy out, or a message naming the bad key."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

from pydantic import ValidationError

from models.policy import Policy

log = logging.getLogger(__name__)

DEFAULT_PATH = Path("servicedesk.toml")


class PolicyError(Exception):
    """The policy file cannot be used; the message names the file, the key and the problem."""


def _location(loc: tuple[object, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def explain(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: the policy file has {error.error_count()} problem(s):"]
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "is not a setting servicedesk knows (a typo?)"
        lines.append(f"  {_location(problem['loc'])}: {message}")
    return "\n".join(lines)


def parse_policy(text: str, *, path: Path = Path("<policy>")) -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"{path}: not valid TOML: {error}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        raise PolicyError(explain(path, error)) from None


def load_policy(path: Path | None) -> Policy:
    """The policy from `path`, or ./servicedesk.toml, or the built-in defaults when neither exists."""
    if path is None:
        if not DEFAULT_PATH.exists():
            log.warning("no SERVICEDESK_CONFIG and no ./servicedesk.toml: using default policy")
            return Policy()
        path = DEFAULT_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"{path}: cannot read the policy file: {error.strerror}") from None
    return parse_policy(text, path=path)
