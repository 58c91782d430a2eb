"""Installing pinned npm packages with `npm pack`, verified against their recorded integrity.

The pins live in ``openqpp/npm-packs.json``: the measures data pack (qpp-measures-data), the CMS
Design System, htmx and axe-core. Each tarball is checked against its sha512 integrity before a
single member is extracted, and only the listed members are extracted, with tarfile's ``data``
filter (no links, devices or paths outside the target).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openqpp.core.errors import OpenQppError

LOCK_FILE = Path(__file__).resolve().parent.parent / "npm-packs.json"
STAMP = ".openqpp-pack.json"


class PackError(OpenQppError):
    code = "OQ-PACK-001"


@dataclass(frozen=True, slots=True)
class Pack:
    name: str
    version: str
    integrity: str
    purpose: str
    target: str
    extract: tuple[str, ...]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def folder_name(self) -> str:
        return self.name.lstrip("@").replace("/", "-")


def read_lock(path: Path = LOCK_FILE) -> dict[str, Pack]:
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["packs"]
    return {
        name: Pack(
            name=name,
            version=entry["version"],
            integrity=entry["integrity"],
            purpose=entry["purpose"],
            target=entry["target"],
            extract=tuple(entry["extract"]),
        )
        for name, entry in raw.items()
    }


def integrity_of(tarball: Path) -> str:
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def verify(tarball: Path, pack: Pack) -> None:
    actual = integrity_of(tarball)
    if actual != pack.integrity:
        raise PackError(
            f"{pack.spec}: the downloaded tarball's integrity {actual[:24]}... does not match the "
            f"pinned {pack.integrity[:24]}...; nothing was installed.",
            fix="Check the npm registry you use; if the pin in openqpp/npm-packs.json was changed "
            "on purpose, record the new `npm view NAME@VERSION dist.integrity` with it.",
        )


def npm_pack(pack: Pack, destination: Path) -> Path:
    """Download ``pack`` with `npm pack` into ``destination``; return the tarball path."""
    npm = shutil.which("npm")
    if npm is None:
        raise PackError(
            "npm is not installed, so the pinned npm packs cannot be downloaded.",
            fix="Install Node.js and npm (Debian: apt-get install nodejs npm), then run again.",
        )
    result = subprocess.run(
        [npm, "pack", pack.spec, "--pack-destination", str(destination), "--json", "--silent"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise PackError(
            f"`npm pack {pack.spec}` failed: {result.stderr.strip()[-400:]}",
            fix="Check that the npm registry is reachable from this machine and try again.",
        )
    filename = json.loads(result.stdout)[0]["filename"]
    return destination / Path(filename).name


def _members(archive: tarfile.TarFile, pack: Pack) -> list[tarfile.TarInfo]:
    chosen = []
    for member in archive.getmembers():
        if not member.isfile() or not member.name.startswith("package/"):
            continue
        inner = member.name.removeprefix("package/")
        if any(fnmatch.fnmatchcase(inner, pattern) for pattern in pack.extract):
            chosen.append(member)
    return chosen


def extract(tarball: Path, pack: Pack, target: Path, *, strip: str = "") -> int:
    """Extract the pack's listed members into ``target`` (replaced whole); returns file count."""
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            members = _members(archive, pack)
            if not members:
                raise PackError(
                    f"{pack.spec}: none of {list(pack.extract)} is in the tarball.",
                    fix="Correct the extract patterns in openqpp/npm-packs.json.",
                )
            for member in members:
                inner = member.name.removeprefix("package/").removeprefix(strip)
                member.name = inner
                archive.extract(member, staging, filter="data")
        (staging / STAMP).write_text(
            json.dumps({"name": pack.name, "version": pack.version, "integrity": pack.integrity}),
            encoding="utf-8",
        )
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
        return len(members)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def installed_version(target: Path) -> dict[str, str] | None:
    stamp = target / STAMP
    if not stamp.is_file():
        return None
    data: dict[str, str] = json.loads(stamp.read_text(encoding="utf-8"))
    return data


def install(
    pack: Pack,
    target: Path,
    *,
    strip: str = "",
    force: bool = False,
    progress: Callable[[str], None] = lambda _msg: None,
) -> bool:
    """Install ``pack`` into ``target`` unless the same verified version is there already.

    Returns True when something was installed.
    """
    current = installed_version(target)
    if not force and current and current.get("integrity") == pack.integrity:
        progress(f"{pack.spec} already installed in {target}")
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="openqpp-npm-") as tmp:
        progress(f"npm pack {pack.spec}")
        tarball = npm_pack(pack, Path(tmp))
        verify(tarball, pack)
        count = extract(tarball, pack, target, strip=strip)
    progress(f"{pack.spec}: {count} files verified and installed in {target}")
    return True
