"""Structured JSON logs that never carry a secret.

Every line is one JSON object (CloudWatch Logs Insights can query it) with the request id, the
Bedrock session id and whatever the caller bound. The masking processor runs last before
rendering, over keys *and* free text, so a secret that slips into an exception message or a
server's error payload is removed too. Masking is by key name (anything that names a secret,
password, token, credential or authorization) and by value shape (AWS access key ids, 40-character
secret keys, long session tokens, bearer and basic credentials, `password=` pairs, passwords in
URLs, secret-named CLI options such as `--master-user-password`, and quoted JSON members whose name
says secret, such as `"SecretString": "..."`).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

MASK = "***"
_configured = False

_SECRET_KEY_NAME = re.compile(
    r"(secret|passw(or)?d|pwd|token|authorization|credential|api[_-]?key|private[_-]?key|signature)",
    re.IGNORECASE,
)
# Key ids of long-term (AKIA) and temporary (ASIA) credentials, and their siblings.
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|ABIA|ACCA)[A-Z0-9]{16}\b")
# A secret access key after a name that says so, in any of the usual spellings.
_NAMED_SECRET = re.compile(
    r"(?i)((?:aws_?)?secret_?(?:access_?)?key|session_?token|security_?token|passw(?:or)?d|pwd|api[_-]?key"
    r"|client_?secret|token)(\"?'?\s*[:=]\s*\"?'?)([^\s\"',;}&]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*")
# The password of `scheme://user:password@host`.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@]+:)[^\s@/]+@")
# A CLI option that names a secret, and its value: `--master-user-password hunter2`, `--token=...`.
# The name must end with the secret word (or `-string`, `-key`, ...), so `--secret-id prod/db`, a
# secret's name rather than its value, stays readable.
_SECRET_NAME_END = r"(?:passw(?:or)?d|secret|token|credentials?)(?:[_\-]?(?:access[_\-]?key|string|value|key|binary))?"  # noqa: S105
_SECRET_OPTION = re.compile(rf"(?i)(--[a-z0-9\-]*{_SECRET_NAME_END})(\s+|=)(\"[^\"]*\"|'[^']*'|\S+)")
# A quoted JSON (or Python repr) member whose name says secret: `"SecretString": "..."`.
_QUOTED_SECRET_MEMBER = re.compile(
    rf"(?i)([\"'][A-Za-z0-9_\-]*{_SECRET_NAME_END}[\"']\s*:\s*)(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
)
# 40 characters of the base64 alphabet standing alone: the shape of a secret access key.
_BARE_SECRET_KEY = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
# Session tokens and JWTs are long; nothing legitimate in our logs is a 100+ char base64 run.
_LONG_TOKEN = re.compile(r"[A-Za-z0-9/+_\-]{100,}={0,2}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")


def mask_text(text: str) -> str:
    """Remove every secret-shaped substring from free text."""
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = _SECRET_OPTION.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _QUOTED_SECRET_MEMBER.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    text = _JWT.sub(MASK, text)
    text = _NAMED_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _ACCESS_KEY_ID.sub(MASK, text)
    text = _LONG_TOKEN.sub(MASK, text)
    return _BARE_SECRET_KEY.sub(MASK, text)


def mask_value(value: Any, key: str | None = None) -> Any:
    """Mask a value found under `key`: whole values under secret-named keys, patterns elsewhere."""
    secret_named = key is not None and _SECRET_KEY_NAME.search(key) is not None
    if secret_named and value not in (None, "", [], {}) and not isinstance(value, Mapping | list | tuple):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    if isinstance(value, BaseException):
        return mask_text(f"{type(value).__name__}: {value}")
    return value


def mask_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: applied to the whole event, after exceptions are formatted."""
    return {k: mask_value(v, k) for k, v in event_dict.items()}


class _StandardStream:
    """`sys.stdout` or `sys.stderr` as it is at each write, not as it was when logging was set up:
    whoever replaces the stream later (pytest's capture, a REPL, a redirect) still gets the lines,
    and nothing writes into a stream that has since been closed."""

    def __init__(self, name: str) -> None:
        self._name = name

    def _current(self) -> TextIO:
        stream: TextIO = getattr(sys, self._name)
        return stream

    def write(self, text: str) -> int:
        return self._current().write(text)

    def flush(self) -> None:
        self._current().flush()


def configure_logging(level: str = "INFO", stream: TextIO | None = None, *, to_stderr: bool = False) -> None:
    """Set up structlog (JSON lines) and route the standard library's loggers through the same masking.

    Lines go to `stream`, else to the process's standard output (standard error with `to_stderr`,
    as the CLI wants, so that its own output stays machine-readable).
    Idempotent: a warm Lambda container calls it once per cold start; tests call it freely.
    """
    global _configured  # noqa: PLW0603 - process-wide logging state, like the logging module's own
    _configured = True
    numeric = _level(level)
    output: Any = stream or _StandardStream("stderr" if to_stderr else "stdout")
    _configure_structlog(numeric, output)
    handler = logging.StreamHandler(output)
    handler.setFormatter(_MaskingFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(max(numeric, logging.WARNING))
    # The MCP SDK logs every non-JSON line a server prints on stdout as an error with a traceback;
    # we tolerate those lines (see integrations), so keep them out of the logs.
    logging.getLogger("mcp.client.stdio").setLevel(logging.CRITICAL)


def _level(name: str) -> int:
    numeric = logging.getLevelName(name.upper())
    return numeric if isinstance(numeric, int) else logging.INFO


def _configure_structlog(level: int, output: Any) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_secrets,
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=output),
        cache_logger_on_first_use=False,
    )


def ensure_logging_configured(level: str) -> None:
    """Configure logging unless something (the CLI, a test) already did."""
    if not _configured:
        configure_logging(level)


class _MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger


def bind_request(request_id: str | None, session_id: str | None) -> None:
    """Attach the request and session ids to every log line of this invocation."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id, session_id=session_id)


# Masking from the first import on: structlog's own defaults print whatever they are given, so a
# line logged before anyone calls `configure_logging` (a library import, a test run without the
# CLI) would carry secrets in clear. The standard library's root logger is left to its owner.
_configure_structlog(_level(os.environ.get("LOG_LEVEL", "INFO")), _StandardStream("stdout"))
