from uuid import uuid4

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('webgate', '0003_permission_session_limits')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FileTransfer',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('org', fields.ForeignKeyField('webgate.Organization', source_field='org_id', db_constraint=True, to_field='id', on_delete=OnDelete.CASCADE)),
                ('session', fields.ForeignKeyField('webgate.Session', source_field='session_id', db_constraint=True, to_field='id', related_name='transfers', on_delete=OnDelete.CASCADE)),
                ('username', fields.CharField(max_length=128)),
                ('asset_name', fields.CharField(default='', max_length=128)),
                ('protocol', fields.CharField(max_length=16)),
                ('direction', fields.CharField(max_length=8)),
                ('path', fields.CharField(max_length=1024)),
                ('size', fields.BigIntField(default=0)),
                ('status', fields.CharField(default='started', max_length=16)),
                ('started_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'file_transfers', 'app': 'webgate', 'pk_attr': 'id', 'table_description': 'One file moved through a session (RDP drive, later SFTP), kept for the auditor.'},
            bases=['OrgScoped'],
        ),
    ]
