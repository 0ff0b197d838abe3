"""Runs a gateway: the REST API and web page, served by uvicorn."""

from __future__ import annotations

import secrets

import uvicorn
from fastapi import FastAPI

from cets.common.audit import AuditError, AuditLog
from cets.common.keys import load_public_key
from cets.common.runtime import settle
from cets.core.errors import ConfigError
from cets.gateway.api import Gateway, create_app
from cets.gateway.cases.store import CaseError, CaseStore, connect, migrate
from cets.gateway.config import GatewayConfig

__all__ = ["build_app", "serve"]


def build_app(config: GatewayConfig) -> FastAPI:
    """The app for ``config``; :class:`ConfigError` names a file that cannot be used."""
    try:
        officer_key = load_public_key(config.officer_key_file)
        audit = AuditLog(config.audit_log)
    except (ValueError, AuditError) as exc:
        raise ConfigError(str(exc)) from None
    try:
        cases = CaseStore(connect(config.case_store_url))
        migrate(cases.engine)
    except (CaseError, ValueError) as exc:  # includes a URL SQLAlchemy cannot use
        raise ConfigError(f"the case store: {exc}") from None
    gateway = Gateway(
        agency_id=config.agency_id,
        officer_key=officer_key,
        federation_target=config.federation,
        federation_tls=config.federation_tls,
        audit=audit,
        cursor_key=config.cursor_key or secrets.token_bytes(32),
        rate_limit=config.rate_limit,
        timeout_s=config.timeout_s,
        cases=cases,
        alert_poll_s=config.alert_poll_s,
        node_target=config.node_target,
        node_tls=config.node_tls,
        metrics_token=config.metrics_token,
    )
    return create_app(gateway)


def serve(config: GatewayConfig) -> None:
    """Serve until SIGTERM or Ctrl-C (uvicorn finishes in-flight requests)."""
    app = build_app(config)
    settle()
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )
