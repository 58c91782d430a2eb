"""Reading the permission matrix data file (``permissions.yaml`` beside this module)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from openqpp.core.access import MatrixError, PermissionMatrix

MATRIX_FILE = Path(__file__).parent / "permissions.yaml"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (a repeated cell would silently win)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise MatrixError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse(text: str) -> PermissionMatrix:
    return PermissionMatrix.from_mapping(yaml.load(text, Loader=_UniqueKeyLoader))  # noqa: S506


@lru_cache(maxsize=1)
def load_matrix(path: Path = MATRIX_FILE) -> PermissionMatrix:
    """The permission matrix every access decision consults (read once per process)."""
    return parse(path.read_text(encoding="utf-8"))
