"""The resolver's pure parts, fed literal data: windows, merging, tree matching, account choices."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from webgate.assets.tree import (
    ancestor_ids,
    child_prefix,
    depth,
    rollup,
    sql_uuid_list,
    with_ancestors,
)
from webgate.errors import Forbidden
from webgate.policy.access import (
    Grant,
    Rule,
    account_choices,
    in_window,
    matching_rules,
    merge,
    permitted_protocols,
    pick_account,
)

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
R, C, G = (uuid.UUID(int=i) for i in (1, 2, 3))  # root, child, grandchild nodes


@dataclass
class Acc:
    id: uuid.UUID
    name: str
    username: str
    is_active: bool = True


ROOT = Acc(uuid.UUID(int=10), "root", "root")
ALICE = Acc(uuid.UUID(int=11), "alice-acc", "alice")
OFF = Acc(uuid.UUID(int=12), "off", "alice", is_active=False)


def rule(n: int, accounts=(), protocols=("all",), actions=("connect",)) -> Rule:  # type: ignore[no-untyped-def]
    return Rule(uuid.UUID(int=100 + n), frozenset(accounts), frozenset(protocols), frozenset(actions))


def test_window_includes_start_and_excludes_expiry():
    assert in_window(None, None, NOW)
    assert in_window(NOW, NOW + HOUR, NOW)
    assert not in_window(NOW + HOUR, None, NOW)
    assert not in_window(None, NOW, NOW)


def test_merge_is_a_union_per_dimension():
    g = merge([rule(1, ["root"], ["ssh"], ["connect"]), rule(2, ["@INPUT"], ["rdp"], ["upload"])])
    assert g.accounts == {"root", "@INPUT"} and g.protocols == {"ssh", "rdp"} and g.actions == {"connect", "upload"}
    assert merge([]) == Grant()
    assert merge([rule(1, protocols=["all"])]).allows_protocol("k8s")


def test_a_node_permission_reaches_assets_in_descendants_only():
    grand_path = f"/{R}/{C}/"
    by_node = {R: {uuid.UUID(int=1)}, C: {uuid.UUID(int=2)}}
    assert matching_rules([], [(G, grand_path)], by_node) == {uuid.UUID(int=1), uuid.UUID(int=2)}
    assert matching_rules([], [(R, "/")], by_node) == {uuid.UUID(int=1)}
    assert matching_rules([uuid.UUID(int=9)], [], by_node) == {uuid.UUID(int=9)}


def test_protocols_are_limited_to_the_asset_and_the_grant():
    asset = [{"name": "ssh", "port": 22}, {"name": "sftp", "port": 22}]
    assert permitted_protocols(Grant(protocols=frozenset({"ssh", "rdp"})), asset) == [{"name": "ssh", "port": 22}]
    assert permitted_protocols(Grant(protocols=frozenset({"all"})), asset) == asset
    assert permitted_protocols(Grant(), asset) == []


def test_account_aliases_all_same_input():
    accounts = [ROOT, ALICE, OFF]
    same = account_choices(Grant(accounts=frozenset({"@SAME"})), accounts, "alice")
    assert [(c["name"], c["alias"]) for c in same] == [("alice-acc", "@SAME")]
    everything = account_choices(Grant(accounts=frozenset({"@ALL", "@INPUT"})), accounts, "bob")
    assert [c["name"] for c in everything] == ["root", "alice-acc", "@INPUT"]
    assert everything[-1] == {"id": None, "name": "@INPUT", "username": "", "alias": "@INPUT"}
    assert account_choices(Grant(accounts=frozenset({"root"})), accounts, "alice")[0]["id"] == str(ROOT.id)


def test_pick_account_by_name_id_or_input():
    grant = Grant(accounts=frozenset({"root", "@INPUT"}))
    assert pick_account(grant, [ROOT, ALICE], "alice", "root") is ROOT
    assert pick_account(grant, [ROOT, ALICE], "alice", str(ROOT.id)) is ROOT
    assert pick_account(grant, [ROOT, ALICE], "alice", "@INPUT") is None
    with pytest.raises(Forbidden):
        pick_account(grant, [ROOT, ALICE], "alice", "alice-acc")
    with pytest.raises(Forbidden):
        pick_account(Grant(accounts=frozenset({"@ALL"})), [ROOT], "alice", "@INPUT")
    with pytest.raises(Forbidden):
        pick_account(Grant(accounts=frozenset({"@ALL"})), [OFF], "alice", "off")


def test_tree_paths():
    child_path = child_prefix("/", R)
    grand_path = child_prefix(child_path, C)
    assert grand_path == f"/{R}/{C}/" and ancestor_ids(grand_path) == [R, C]
    assert depth("/") == 0 and depth(grand_path) == 2
    assert rollup({C: 2, G: 1}, {C: child_path, G: grand_path}) == {R: 3, C: 3, G: 1}
    assert with_ancestors([G], {G: grand_path}) == {R, C, G}
    assert sql_uuid_list([R]) == f"'{R}'"
    with pytest.raises(ValueError):
        sql_uuid_list(["x') OR 1=1 --"])


def test_session_limits_take_the_strictest_permission():
    loose = Rule(uuid.UUID(int=1), frozenset(), frozenset({"all"}), frozenset({"connect"}), None, None)
    idle10 = Rule(uuid.UUID(int=2), frozenset(), frozenset({"all"}), frozenset({"connect"}), 10, 240)
    idle5 = Rule(uuid.UUID(int=3), frozenset(), frozenset({"all"}), frozenset({"connect"}), 5, None)
    assert (merge([loose]).idle_minutes, merge([loose]).max_minutes) == (None, None)
    merged = merge(iter([loose, idle10, idle5]))
    assert (merged.idle_minutes, merged.max_minutes) == (5, 240)
