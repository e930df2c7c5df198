"""The site key: what signs subscriber links, public forms and session cookies.

No key shipped with mailer can be used. When ``site.secret_key`` is not set,
mailer generates a random one on first use and keeps it in
``<paths.var_dir>/secret_key``, readable by its owner only. A configured key
that is empty, short or a known placeholder is refused with a one-line error
by everything that signs or verifies. ``site.previous_secret_keys`` still
verify what older keys signed, so links in mail already sent keep working
after a rotation.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from mailer.config import Settings
from mailer.errors import ConfigError

MIN_KEY_CHARS = 32
KEY_FILE = "secret_key"
# Values that have appeared in sample configs and tutorials: anyone knows them.
PLACEHOLDERS = frozenset(
    {
        "change-me-in-production",
        "change-me",
        "changeme",
        "change_me",
        "secret",
        "secret-key",
        "secret_key",
        "your-secret-key",
        "please-change-me",
        "replace-me",
        "insecure",
        "dev",
        "development",
        "test",
    }
)

_cache: dict[tuple[object, ...], tuple[str, ...]] = {}


def _check(value: str, where: str) -> str:
    if not value.strip():
        raise ConfigError(
            f"{where} is empty: set a random value of at least {MIN_KEY_CHARS} characters, "
            "or remove the setting to use a generated key"
        )
    if value.strip().lower() in PLACEHOLDERS or "change-me" in value.lower():
        raise ConfigError(f"{where} is a published placeholder: set a random value")
    if len(value) < MIN_KEY_CHARS:
        raise ConfigError(
            f"{where} is {len(value)} characters long: use at least {MIN_KEY_CHARS} random "
            'characters (python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    return value


def key_file(settings: Settings) -> Path:
    """Where the generated key lives when none is configured."""
    return settings.path(settings.paths.var_dir) / KEY_FILE


def _generated(path: Path) -> str:
    """Read the generated key, creating it (mode 0600) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made earlier, or by another process just now: read it
    else:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"{path}: readable by others (mode {mode:o}): chmod 600 {path}")
    value = path.read_text(encoding="ascii").strip()
    if not value:
        # Another process created it and has not written it yet.
        import time

        time.sleep(0.1)
        value = path.read_text(encoding="ascii").strip()
    return _check(value, str(path))


def site_keys(settings: Settings) -> tuple[str, ...]:
    """The current key first, then the previous ones (verification only).

    Raises ``ConfigError`` for an unusable key.
    """
    configured = settings.site.secret_key
    current = None if configured is None else configured.get_secret_value()
    previous = tuple(k.get_secret_value() for k in settings.site.previous_secret_keys)
    cache_key = (current, previous, str(key_file(settings)) if current is None else "")
    found = _cache.get(cache_key)
    if found is None:
        if current is None:
            key = _generated(key_file(settings))
        else:
            key = _check(current, "site.secret_key")
        olds = tuple(
            _check(old, f"site.previous_secret_keys[{i}]") for i, old in enumerate(previous)
        )
        found = _cache[cache_key] = (key, *olds)
    return found


def site_key(settings: Settings) -> str:
    """The key that signs (``ConfigError`` if it cannot be used)."""
    return site_keys(settings)[0]


def verifying_keys(settings: Settings) -> list[str]:
    """Every accepted key, oldest first: the order itsdangerous wants (it signs with the last)."""
    return list(reversed(site_keys(settings)))
