"""Installing the pinned npm packs and reporting which measures data years are available."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from openqpp.measures import MeasuresCatalogue
from openqpp.services import npm_packs
from openqpp.settings import Settings


def target_for(pack: npm_packs.Pack, settings: Settings) -> tuple[Path, str]:
    """Where a pack is extracted, and the prefix stripped from its member paths."""
    if pack.target == "data":
        return settings.data_dir / pack.folder_name, ""
    if pack.target == "static":
        return settings.static_vendor_dir / pack.folder_name, "dist/"
    return settings.tools_dir / pack.folder_name, ""


def install(
    settings: Settings,
    *,
    only: str | None = None,
    force: bool = False,
    progress: Callable[[str], None] = lambda _m: None,
) -> list[str]:
    """Install every pinned pack (or the ``only`` target kind); returns the specs installed."""
    installed = []
    for pack in npm_packs.read_lock().values():
        if only is not None and pack.target != only:
            continue
        target, strip = target_for(pack, settings)
        if npm_packs.install(pack, target, strip=strip, force=force, progress=progress):
            installed.append(pack.spec)
    return installed


@dataclass(frozen=True, slots=True)
class RootStatus:
    root: Path
    exists: bool
    years: tuple[int, ...]
    source: str


@dataclass(frozen=True, slots=True)
class PackStatus:
    spec: str
    purpose: str
    target: Path
    installed: bool


def roots(settings: Settings) -> list[Path]:
    return settings.measures_roots


def status(settings: Settings) -> tuple[list[RootStatus], dict[int, Path], list[PackStatus]]:
    """Each measures root with the years it provides, the year -> root map, and the packs."""
    catalogue = MeasuresCatalogue(roots(settings))
    available = catalogue.available_years()
    per_root = []
    for root in roots(settings):
        years = tuple(sorted(y for y, r in available.items() if r == root))
        stamp = npm_packs.installed_version(root)
        source = f"npm {stamp['name']}@{stamp['version']} (verified)" if stamp else "directory"
        per_root.append(RootStatus(root=root, exists=root.is_dir(), years=years, source=source))
    packs = []
    for pack in npm_packs.read_lock().values():
        target, _ = target_for(pack, settings)
        current = npm_packs.installed_version(target)
        packs.append(
            PackStatus(
                spec=pack.spec,
                purpose=pack.purpose,
                target=target,
                installed=bool(current and current.get("integrity") == pack.integrity),
            )
        )
    return per_root, available, packs
