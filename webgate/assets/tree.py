"""The asset tree's materialised paths: pure helpers, fed strings in tests.

A node's ``path`` is the chain of its ancestors' ids, ``/`` for a root and
``/<root id>/<child id>/`` two levels down; a node's descendants are exactly the nodes whose
path starts with ``child_prefix(node)``. Ids are UUIDs, so a prefix never matches by accident.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from tortoise.expressions import Q

MAX_DEPTH = 20  # 20 * 37 characters stays well inside the 1024-character path column


def child_prefix(path: str, node_id: uuid.UUID | str) -> str:
    """The path every child of this node has; descendants' paths start with it."""
    return f"{path}{node_id}/"


def depth(path: str) -> int:
    """How many ancestors a node with this path has (0 for a root)."""
    return max(0, path.count("/") - 1)


def ancestor_ids(path: str) -> list[uuid.UUID]:
    return [uuid.UUID(part) for part in path.strip("/").split("/") if part]


def lineage(node_id: uuid.UUID, path: str) -> list[uuid.UUID]:
    """The node and its ancestors, root first."""
    return [*ancestor_ids(path), node_id]


def rollup(direct: Mapping[uuid.UUID, int], paths: Mapping[uuid.UUID, str]) -> dict[uuid.UUID, int]:
    """Counts per node including sub-nodes (an asset in two nodes of one subtree counts twice)."""
    total: dict[uuid.UUID, int] = {}
    for node_id, count in direct.items():
        for ident in lineage(node_id, paths.get(node_id, "/")):
            total[ident] = total.get(ident, 0) + count
    return total


def with_ancestors(node_ids: Iterable[uuid.UUID], paths: Mapping[uuid.UUID, str]) -> set[uuid.UUID]:
    out: set[uuid.UUID] = set()
    for node_id in node_ids:
        out.update(lineage(node_id, paths.get(node_id, "/")))
    return out


def sql_uuid_list(ids: Iterable[uuid.UUID | str]) -> str:
    """A literal SQL list of UUIDs. Safe to inline: each value is re-parsed as a UUID first,
    so only hex digits and hyphens reach the SQL text."""
    return ",".join(f"'{uuid.UUID(str(i))}'" for i in ids)


def subtree_q(nodes: Iterable[tuple[uuid.UUID, str]]) -> Q:
    """A filter on Node matching the given (id, path) nodes and all their descendants."""
    nodes = list(nodes)
    cond = Q(id__in=[ident for ident, _ in nodes])
    for ident, path in nodes:
        cond |= Q(path__startswith=child_prefix(path, ident))
    return cond
