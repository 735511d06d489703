"""Indexes the permission resolver needs (measured with bench/my_assets.py).

- assets (id, is_active, org_id, name): "My assets" probes assets by permitted ids; SQLite
  then counts and sorts from this index alone.
- The many-to-many tables only have a unique index led by their first column. "Which
  assets are in these nodes", "which permissions name this user/group/node/asset" and "which
  groups is this user in" need the other column first (SQLite does not index foreign keys
  by itself; on MySQL/MariaDB these take over from the implicit foreign-key indexes).
"""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

THROUGH_INDEXES = [
    ("idx_asset_nodes_node", "asset_nodes", "node_id, assets_id"),
    ("idx_perm_assets_asset", "perm_assets", "asset_id"),
    ("idx_perm_nodes_node", "perm_nodes", "node_id"),
    ("idx_perm_users_user", "perm_users", "user_id"),
    ("idx_perm_groups_group", "perm_groups", "usergroup_id"),
    ("idx_user_group_members_user", "user_group_members", "user_id"),
]


async def create_through_indexes(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    for name, table, columns in THROUGH_INDEXES:
        await schema_editor.client.execute_script(f"CREATE INDEX {name} ON {table} ({columns})")


async def drop_through_indexes(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    mysql = schema_editor.client.capabilities.dialect == "mysql"
    for name, table, _ in THROUGH_INDEXES:
        await schema_editor.client.execute_script(f"DROP INDEX {name} ON {table}" if mysql else f"DROP INDEX {name}")


class Migration(migrations.Migration):
    dependencies = [("webgate", "0001_initial")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Asset",
            index=Index(fields=["id", "is_active", "org_id", "name"]),
        ),
        ops.RunPython(create_through_indexes, drop_through_indexes),
    ]
