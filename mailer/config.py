"""Settings: declared once, typed, layered.

Order of precedence, lowest first: the defaults below, ``config.toml``, then
``MAILER_<SECTION>_<NAME>`` environment variables (e.g. ``MAILER_DATABASE_URL``),
then CLI flags (applied by the commands that take them). Every setting has a
description; ``mailer config`` prints the effective values with secrets masked,
and ``config.toml`` in the repository is the commented reference.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic import ValidationError as PydanticValidationError

from mailer.errors import ConfigError

ENV_PREFIX = "MAILER_"
DEFAULT_CONFIG = "config.toml"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL as written (maybe relative); None for other databases."""
    # Imported here: commands that never open a database (``build``) should not load SQLAlchemy.
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database or ""
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SiteSettings(Section):
    base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public URL of the web app; links in emails (unsubscribe, archive) start here.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description=(
            "Key for signed links, public forms and session cookies: at least 32 random "
            "characters. Unset: generated on first use into <var_dir>/secret_key (mode 0600)."
        ),
    )
    previous_secret_keys: list[SecretStr] = Field(
        default_factory=list,
        description=(
            "Earlier keys, still accepted when verifying links and forms after a rotation "
            "(sessions signed with them end)."
        ),
    )
    timezone: str = Field(
        "Europe/Brussels", description="Timezone for scheduling and for times shown on pages."
    )
    archive_list: str = Field(
        "",
        description="List whose send the public archive shows when an issue went to several "
        "lists (empty: the latest send to any list).",
    )
    unsubscribe_mailto: str = Field(
        "",
        description="Address for mailto: List-Unsubscribe (empty: derived from the list's from).",
    )


class PathSettings(Section):
    issues_dir: str = Field("issues", description="Folder holding one sub-folder per issue.")
    lists_dir: str = Field("lists", description="Folder holding one <slug>.toml per list.")
    templates_dir: str = Field("templates", description="Folder holding email templates.")
    var_dir: str = Field("var", description="Folder for the database, builds and outbox.")
    build_dir: str = Field("var/build", description="Where `mailer build` writes by default.")


class ComposeSettings(Section):
    template: str = Field("default", description="Template used when an issue names none.")
    teaser_words: int = Field(
        60, ge=5, le=1000, description="Word budget of a teaser excerpted from a story body."
    )
    max_html_bytes: int = Field(
        102_000, description="Lint warning threshold: Gmail clips messages above ~102 KB."
    )
    postal_address: str = Field(
        "",
        description="Sender's postal address for footers when neither list nor issue gives one.",
    )


class DatabaseSettings(Section):
    url: str = Field(
        "sqlite:///var/mailer.db",
        description="SQLAlchemy URL. sqlite:///relative/path or postgresql+psycopg://…",
    )
    echo: bool = Field(False, description="Log every SQL statement (debugging).")


class ListSettings(Section):
    confirm_ttl_hours: int = Field(
        72, ge=1, description="How long a double opt-in confirmation link stays valid."
    )
    confirm_resend_minutes: int = Field(
        60, ge=0, description="At most one confirmation email per address in this window."
    )
    check_deliverability: bool = Field(
        False, description="Look up the domain's MX records when validating addresses (DNS)."
    )


class DeliverySettings(Section):
    transport: Literal["outbox", "smtp", "ses", "null"] = Field(
        "outbox", description="Where messages go: outbox folder, SMTP server, Amazon SES."
    )
    outbox_dir: str = Field("var/outbox", description="Folder the outbox transport writes to.")
    batch_size: int = Field(
        200, ge=1, le=10_000, description="Recipients claimed per batch (bounds uncertain ones)."
    )
    lease_seconds: int = Field(
        300,
        ge=10,
        description="How long a claimed batch stays with a worker before others take it.",
    )
    threads: int = Field(4, ge=1, le=64, description="Delivery threads per worker.")
    max_attempts: int = Field(
        5, ge=1, description="Temporary failures retried this many times, then marked failed."
    )
    retry_seconds: int = Field(60, ge=1, description="Base delay before retrying a 4xx.")
    poll_seconds: float = Field(2.0, gt=0, description="Worker idle poll interval.")


class SmtpSettings(Section):
    host: str = Field("127.0.0.1", description="SMTP server host.")
    port: int = Field(25, description="SMTP server port.")
    security: Literal["none", "starttls", "ssl"] = Field("none", description="Connection security.")
    username: str = Field("", description="Login user (empty: no AUTH).")
    password: SecretStr = Field(SecretStr(""), description="Login password.")
    connections: int = Field(4, ge=1, le=64, description="Persistent connections in the pool.")
    timeout: float = Field(30.0, gt=0, description="Socket timeout in seconds.")


class SesSettings(Section):
    region: str = Field("eu-west-1", description="AWS region of the SES account.")
    endpoint_url: str = Field("", description="Override the SES endpoint (tests, moto).")
    configuration_set: str = Field(
        "mailer", description="SES configuration set that publishes feedback events."
    )
    max_rate: float = Field(
        0.0, ge=0, description="Messages per second; 0 reads MaxSendRate from the account."
    )
    workers: int = Field(
        1, ge=1, description="Workers sharing the account; each takes max_rate / workers."
    )
    check_daily_quota: bool = Field(
        True,
        description=(
            "Pause, before anyone is mailed, a send the account's daily quota "
            "(Max24HourSend - SentLast24Hours) cannot carry."
        ),
    )


class EventSettings(Section):
    sqs_queue_url: str = Field("", description="SQS queue receiving SES feedback (via SNS).")
    sqs_endpoint_url: str = Field("", description="Override the SQS endpoint (tests, moto).")
    sns_endpoint_url: str = Field("", description="Override the SNS endpoint (tests, moto).")
    topic_arns: list[str] = Field(
        default_factory=list, description="SNS topics whose messages the webhook accepts."
    )
    cert_url_pattern: str = Field(
        r"^sns\.[a-z]{2}(-[a-z]+)+-[0-9]+\.amazonaws\.com(\.cn)?$",
        description=(
            "Allowed host[:port] of SigningCertURL and SubscribeURL: sns.<region>.amazonaws.com"
            "(.cn) with region syntax (https and the /SimpleNotificationService-*.pem path are "
            "always required). Change only for tests."
        ),
    )
    max_message_age_seconds: int = Field(
        3600,
        ge=0,
        description=(
            "The webhook refuses SNS messages whose Timestamp is older than this (replays); "
            "0 turns the check off."
        ),
    )
    sqs_verify_signatures: bool = Field(
        True,
        description=(
            "The SQS poller verifies the SNS signature of every message, as the webhook does; "
            "turn off only for raw message delivery (which carries no signature)."
        ),
    )
    soft_bounce_limit: int = Field(
        3, ge=1, description="Transient bounces within the window that suppress an address."
    )
    soft_bounce_days: int = Field(30, ge=1, description="Window for counting transient bounces.")
    max_body_bytes: int = Field(256_000, description="Largest webhook body accepted.")


class GuardrailSettings(Section):
    bounce_rate: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Pause a running send whose hard-bounce rate passes this (SES reviews at 5%).",
    )
    bounce_min_feedback: int = Field(
        200,
        ge=1,
        description="The bounce check starts once this many of the send's messages have feedback.",
    )
    complaint_rate: float = Field(
        0.001,
        ge=0,
        le=1,
        description="Pause a running send when its complaint rate passes this (SES: 0.1%).",
    )
    complaint_min_feedback: int = Field(
        1000,
        ge=1,
        description="The complaint check starts once this many messages have feedback.",
    )
    check_seconds: float = Field(
        10.0,
        ge=0,
        description="How often a worker re-counts a running send's feedback (0: every batch).",
    )
    scanner_seconds: int = Field(
        60,
        ge=0,
        description="Clicks this soon after delivery, on several links at once, are a scanner's.",
    )
    scanner_links: int = Field(
        3, ge=2, description="Distinct links clicked within scanner_seconds that mark a scanner."
    )
    dns_timeout: float = Field(
        3.0, gt=0, description="`mailer doctor`: seconds allowed for each DNS lookup."
    )
    dkim_selector: str = Field(
        "", description="`mailer doctor`, SMTP: the DKIM selector your server signs with."
    )
    dns_nameservers: list[str] = Field(
        default_factory=list,
        description="`mailer doctor`: resolvers to ask, ip or ip:port (empty: the system's).",
    )


class WebSettings(Section):
    host: str = Field("127.0.0.1", description="Address `mailer serve` binds to.")
    port: int = Field(8000, description="Port `mailer serve` listens on.")
    subscribe_per_minute: int = Field(
        10, ge=1, description="Subscribe form posts allowed per client address per minute."
    )
    secure_cookies: bool = Field(False, description="Mark session cookies Secure (HTTPS only).")
    session_hours: int = Field(
        12, ge=1, description="How long an editor stays logged in without activity."
    )
    login_per_minute: int = Field(
        10, ge=1, description="Login attempts allowed per client address per minute."
    )
    draft_link_hours: int = Field(
        168, ge=1, description="How long draft links (test copies, preview) keep working."
    )
    login_account_failures: int = Field(
        5,
        ge=1,
        description=(
            "Failed logins in a row to one account before each further attempt waits "
            "(1 s, doubling, at most 15 min)."
        ),
    )
    users: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Logins from configuration: name = argon2 hash (`mailer users hash`).",
    )
    max_upload_mb: int = Field(
        50, ge=1, description="Largest CSV file the web app's import accepts, in MB."
    )


class Settings(Section):
    """All settings, one section per stage."""

    site: SiteSettings = Field(default_factory=SiteSettings)  # type: ignore[arg-type]
    paths: PathSettings = Field(default_factory=PathSettings)  # type: ignore[arg-type]
    compose: ComposeSettings = Field(default_factory=ComposeSettings)  # type: ignore[arg-type]
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)  # type: ignore[arg-type]
    lists: ListSettings = Field(default_factory=ListSettings)  # type: ignore[arg-type]
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)  # type: ignore[arg-type]
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)  # type: ignore[arg-type]
    ses: SesSettings = Field(default_factory=SesSettings)  # type: ignore[arg-type]
    events: EventSettings = Field(default_factory=EventSettings)  # type: ignore[arg-type]
    guardrails: GuardrailSettings = Field(default_factory=GuardrailSettings)  # type: ignore[arg-type]
    web: WebSettings = Field(default_factory=WebSettings)  # type: ignore[arg-type]

    # Where relative paths are anchored: the config file's folder (or the
    # working directory when there is no file), so commands work from anywhere.
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    def path(self, value: str | Path) -> Path:
        """Return ``value`` as an absolute path, relative ones anchored at ``base_dir``."""
        p = Path(value)
        return p if p.is_absolute() else self.base_dir / p

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute."""
        url = self.database.url
        path = sqlite_file(url)
        if path is None or path.is_absolute():
            return url
        from sqlalchemy.engine import make_url

        return (
            make_url(url)
            .set(database=str(self.path(str(path))))
            .render_as_string(hide_password=False)
        )

    def redacted(self) -> dict[str, Any]:
        """Return the effective settings as a dict, secrets masked."""
        data = self.model_dump(mode="json")
        for section, fields in data.items():
            if not isinstance(fields, dict):
                continue
            for name in fields:
                value = getattr(getattr(self, section), name)
                if isinstance(value, SecretStr):
                    fields[name] = "********" if value.get_secret_value() else ""
                elif isinstance(value, list) and value and isinstance(value[0], SecretStr):
                    fields[name] = ["********" for _ in value]
        return data


SECTIONS: dict[str, type[Section]] = {
    name: field.annotation  # type: ignore[misc]
    for name, field in Settings.model_fields.items()
    if name != "base_dir"
}


def _env_overrides(environ: dict[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for section, model in SECTIONS.items():
        for name, field in model.model_fields.items():
            key = f"{ENV_PREFIX}{section}_{name}".upper()
            if key not in environ:
                continue
            raw = environ[key]
            value: Any = raw
            # Lists come from the environment as comma-separated values.
            if field.annotation in (list[str], list[SecretStr]):
                value = [item.strip() for item in raw.split(",") if item.strip()]
            out.setdefault(section, {})[name] = value
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(
    path: str | Path | None = None,
    environ: dict[str, str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Settings:
    """Load settings from ``path`` (or ``MAILER_CONFIG``, or ``./config.toml``).

    A file named explicitly must exist; the implicit ``./config.toml`` may be
    missing, in which case the defaults apply.
    """
    env = dict(os.environ if environ is None else environ)
    explicit = path is not None or "MAILER_CONFIG" in env
    config_path = Path(path or env.get("MAILER_CONFIG") or DEFAULT_CONFIG)
    data: dict[str, Any] = {}
    if config_path.exists():
        try:
            with config_path.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path}: not valid TOML: {exc}") from exc
        base_dir = config_path.resolve().parent
    elif explicit:
        raise ConfigError(f"{config_path}: configuration file not found")
    else:
        base_dir = Path.cwd()
    data = _merge(data, _env_overrides(env))
    if overrides:
        data = _merge(data, overrides)
    try:
        return Settings.model_validate({**data, "base_dir": base_dir})
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown setting"
        raise ConfigError(f"{config_path}: {where}: {msg}") from exc
