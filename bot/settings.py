"""Process settings: tokens, the store and the HTTP listener, read from the environment and `.env`."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# The placeholder in .env.example: it has a bot token's shape but is nobody's token.
EXAMPLE_BOT_TOKEN = "xoxb-your-bot-token"

# Where in the Slack app settings each secret lives, for the start-up error message.
WHERE_TO_FIND = {
    "SLACK_BOT_TOKEN": "OAuth & Permissions → Bot User OAuth Token (starts with xoxb-)",
    "SLACK_SIGNING_SECRET": "Basic Information → App Credentials → Signing Secret",
    "SLACK_APP_TOKEN": "Basic Information → App-Level Tokens (scope connections:write, starts with xapp-)",
}


class Settings(BaseSettings):
    """Everything the process needs that is not policy. Secrets never appear in repr or logs."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    slack_bot_token: SecretStr = Field(alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr = Field(alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default=DEFAULT_SLACK_API_URL, alias="SLACK_API_URL")
    database_url: str = Field(default="sqlite:///servicedesk.db", alias="DATABASE_URL")
    host: str = Field(default="0.0.0.0", alias="HOST")
    port: int = Field(default=3000, ge=1, le=65535, alias="PORT")
    servicedesk_config: Path | None = Field(default=None, alias="SERVICEDESK_CONFIG")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    # "plain" (lines of text) or "json" (one object per line, for a log collector).
    log_format: str = Field(default="plain", alias="LOG_FORMAT")
    run_scheduler: bool = Field(default=True, alias="RUN_SCHEDULER")
    scheduler_interval_seconds: float = Field(default=30, ge=5, alias="SCHEDULER_INTERVAL_SECONDS")
    # The first wait before a failed Slack call (5xx, dropped connection) is retried, doubling on
    # each retry. Unset: slack_sdk's own back-off (0.5 s doubling, plus up to 1 s of jitter).
    slack_retry_backoff_seconds: float | None = Field(
        default=None, ge=0, alias="SLACK_RETRY_BACKOFF_SECONDS"
    )
    # The bearer token monitoring sends with capacity measurements (POST /capacity/…); unset:
    # the endpoint refuses every request.
    capacity_token: SecretStr | None = Field(default=None, alias="CAPACITY_TOKEN")

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        if value.get_secret_value() == EXAMPLE_BOT_TOKEN:
            raise ValueError("is still the placeholder from .env.example")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("capacity_token")
    @classmethod
    def _capacity_token_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        secret = value.get_secret_value()
        if len(secret) < 16 or not secret.isprintable() or not secret.isascii() or " " in secret:
            raise ValueError("must be at least 16 printable ASCII characters without spaces")
        return value

    @field_validator("slack_signing_secret")
    @classmethod
    def _signing_secret_shape(cls, value: SecretStr) -> SecretStr:
        if not re.fullmatch(r"[0-9a-zA-Z]{16,}", value.get_secret_value()):
            raise ValueError("must be the hexadecimal signing secret (at least 16 characters)")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        lower = value.lower()
        if lower not in {"plain", "json"}:
            raise ValueError("must be plain or json")
        return lower


class SettingsError(Exception):
    """Start-up cannot go on; the message says which variable and where to find it."""


def explain_settings_error(error: ValidationError) -> str:
    """Turn pydantic's error into lines a person setting up the bot can act on."""
    lines = ["servicedesk cannot start: the settings are incomplete or malformed."]
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else "?"
        env_name = Settings.model_fields[name].alias if name in Settings.model_fields else name
        env_name = env_name or name.upper()
        reason = (
            "is not set"
            if problem["type"] == "missing"
            else problem["msg"].removeprefix("Value error, ")
        )
        line = f"  {env_name} {reason}."
        if env_name in WHERE_TO_FIND:
            line += f" Find it in your Slack app settings: {WHERE_TO_FIND[env_name]}."
        lines.append(line)
    lines.append("Set it in the environment or in a .env file (see .env.example).")
    return "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read settings, raising SettingsError with a plain explanation when something is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(explain_settings_error(error)) from None
