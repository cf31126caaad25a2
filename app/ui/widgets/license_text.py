"""A licence as the views show it: its name, its tier and the tier's line, a link."""

from __future__ import annotations

import html

from app.core.library.license_tiers import LicenseInfo, license_info


def license_html(license_id: str | None, repo_id: str | None = None) -> str:
    info = license_info(license_id, repo_id)
    name = html.escape(info.name)
    if info.url:
        name = f'<a href="{html.escape(info.url)}">{name}</a>'
    return f"{name} — <b>{info.tier}</b>: {html.escape(info.line)}"


def license_cell(license_id: str | None, repo_id: str | None = None) -> tuple[str, str]:
    """(the cell's text, its tooltip) for a table."""
    info: LicenseInfo = license_info(license_id, repo_id)
    return f"{license_id or '—'} · {info.tier}", f"{info.name}: {info.line}"
