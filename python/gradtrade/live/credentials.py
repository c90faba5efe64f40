"""Where live mode's API key and secret come from, and the connector built with them.

Invariants: the key and secret are read from a file that only its owner may read (YAML with
``api_key`` and ``api_secret``; a file any group or other user can read or write is refused,
naming the file and its mode, before it is read) or from two environment variables (names in
``credentials``). They go straight into the ``ConnectorConfig``'s ``SecretStr`` fields; no error
message quotes them (the file's YAML errors name a line and column only, and a value is never
echoed). Paper mode reads no credentials.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from gradtrade.config import read_yaml
from gradtrade.errors import ConfigError
from gradtrade.live.config import LOCAL, CredentialsSection, TraderConfig
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.urls import PRESETS


@dataclass(frozen=True)
class Credentials:
    api_key: SecretStr
    api_secret: SecretStr

    def __repr__(self) -> str:
        return "Credentials(<redacted>)"


def _from_file(path: Path) -> Credentials:
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"credentials.file: {path} cannot be read ({exc.strerror})") from None
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"credentials.file: {path} has mode {mode:04o}; it must be readable only by its "
            f"owner (chmod 600 {path})"
        )
    if info.st_uid != os.getuid():
        raise ConfigError(f"credentials.file: {path} is owned by uid {info.st_uid}, not by you")
    raw = read_yaml(path, ConfigError)
    unknown = sorted(set(raw) - {"api_key", "api_secret"})
    if unknown:
        raise ConfigError(f"credentials.file: {path} has unknown fields {unknown}")
    key, secret = raw.get("api_key"), raw.get("api_secret")
    if not isinstance(key, str) or not key or not isinstance(secret, str) or not secret:
        raise ConfigError(f"credentials.file: {path} needs non-empty api_key and api_secret")
    return Credentials(SecretStr(key), SecretStr(secret))


def load_credentials(section: CredentialsSection) -> Credentials:
    """The key and secret from the file when one is configured, else from the environment."""
    if section.file is not None:
        return _from_file(Path(section.file))
    key = os.environ.get(section.api_key_env, "")
    secret = os.environ.get(section.api_secret_env, "")
    missing = [
        n for n, v in ((section.api_key_env, key), (section.api_secret_env, secret)) if not v
    ]
    if missing:
        raise ConfigError(
            f"credentials: environment variable(s) {missing} are not set (live mode needs the "
            "API key and secret; or set credentials.file)"
        )
    return Credentials(SecretStr(key), SecretStr(secret))


def connector_config(cfg: TraderConfig, creds: Credentials | None) -> ConnectorConfig:
    """The connector of the configured venue, signed with ``creds`` when given."""
    v = cfg.venue
    extra: dict[str, object] = {"timeout_s": v.timeout_s, "stale_after_s": v.stale_after_s}
    if creds is not None:
        extra.update(api_key=creds.api_key, api_secret=creds.api_secret)
    if v.url in PRESETS:
        return ConnectorConfig.preset(v.url, v.market, **extra)
    return ConnectorConfig.for_url(v.rest_url if v.url == LOCAL else v.url, v.market, **extra)


__all__ = ["Credentials", "connector_config", "load_credentials"]
