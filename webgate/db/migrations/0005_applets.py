from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('webgate', '0004_file_transfers')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Applet',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('org', fields.ForeignKeyField('webgate.Organization', source_field='org_id', db_constraint=True, to_field='id', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=128)),
                ('icon', fields.TextField(default='', unique=False)),
                ('comment', fields.TextField(default='', unique=False)),
                ('asset_platforms', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('protocol', fields.CharField(max_length=16)),
                ('kind', fields.CharField(default='linux', max_length=16)),
                ('program', fields.CharField(default='', max_length=512)),
                ('arguments', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('password_env', fields.CharField(default='', max_length=64)),
                ('autofill', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('app_host', fields.CharField(default='', max_length=64)),
                ('host_asset', fields.ForeignKeyField('webgate.Asset', source_field='host_asset_id', null=True, db_constraint=True, to_field='id', related_name='hosted_applets', on_delete=OnDelete.SET_NULL)),
                ('host_account', fields.ForeignKeyField('webgate.Account', source_field='host_account_id', null=True, db_constraint=True, to_field='id', related_name='hosted_applets', on_delete=OnDelete.SET_NULL)),
                ('remote_app', fields.CharField(default='', max_length=512)),
                ('remote_app_dir', fields.CharField(default='', max_length=512)),
                ('is_active', fields.BooleanField(default=True)),
            ],
            options={'table': 'applets', 'app': 'webgate', 'unique_together': (('org', 'name'),), 'pk_attr': 'id'},
            bases=['OrgScoped'],
        ),
    ]
