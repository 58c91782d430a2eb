"""Pinned npm packs are verified before anything is extracted, and only listed files land."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from openqpp.services import npm_packs
from openqpp.services.npm_packs import Pack, PackError


def make_tarball(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


def pack_for(tarball: Path, extract: tuple[str, ...]) -> Pack:
    return Pack(
        name="demo-pack",
        version="1.0.0",
        integrity=npm_packs.integrity_of(tarball),
        purpose="test",
        target="data",
        extract=extract,
    )


def test_tarball_with_the_pinned_integrity_installs_only_listed_members(tmp_path: Path) -> None:
    tarball = make_tarball(
        tmp_path / "p.tgz",
        {
            "package/measures/2019/measures-data.json": b"[]",
            "package/staging/big.zip": b"x" * 100,
            "package/package.json": b"{}",
        },
    )
    pack = pack_for(tarball, ("measures/*/measures-data.json", "package.json"))
    npm_packs.verify(tarball, pack)
    target = tmp_path / "out"
    assert npm_packs.extract(tarball, pack, target) == 2
    assert (target / "measures/2019/measures-data.json").read_bytes() == b"[]"
    assert not (target / "staging").exists()
    assert npm_packs.installed_version(target) == {
        "name": "demo-pack",
        "version": "1.0.0",
        "integrity": pack.integrity,
    }


def test_tarball_that_does_not_match_its_pin_is_refused(tmp_path: Path) -> None:
    tarball = make_tarball(tmp_path / "p.tgz", {"package/a.json": b"1"})
    pack = pack_for(tarball, ("a.json",))
    tampered = make_tarball(tmp_path / "t.tgz", {"package/a.json": b"2"})
    with pytest.raises(PackError) as caught:
        npm_packs.verify(tampered, pack)
    assert caught.value.code == "OQ-PACK-001"
    assert "nothing was installed" in caught.value.message


def test_member_escaping_the_target_is_refused(tmp_path: Path) -> None:
    tarball = make_tarball(tmp_path / "p.tgz", {"package/../../evil.json": b"1"})
    pack = pack_for(tarball, ("*",))
    with pytest.raises((PackError, tarfile.FilterError)):
        npm_packs.extract(tarball, pack, tmp_path / "out")
    assert not (tmp_path / "evil.json").exists()
    assert not (tmp_path / "out").exists()


def test_install_skips_a_pack_already_installed_with_the_same_integrity(tmp_path: Path) -> None:
    tarball = make_tarball(tmp_path / "p.tgz", {"package/a.json": b"1"})
    pack = pack_for(tarball, ("a.json",))
    target = tmp_path / "out"
    npm_packs.extract(tarball, pack, target)
    messages: list[str] = []
    assert npm_packs.install(pack, target, progress=messages.append) is False
    assert "already installed" in messages[0]


def test_lock_file_pins_every_pack_with_a_sha512_integrity() -> None:
    packs = npm_packs.read_lock()
    assert set(packs) == {"qpp-measures-data", "@cmsgov/design-system", "htmx.org", "axe-core"}
    assert packs["qpp-measures-data"].version == "5.5.4"
    for pack in packs.values():
        assert pack.integrity.startswith("sha512-")
        assert pack.target in {"data", "static", "tools"}
