from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('webgate', '0002_access_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='AssetPermission',
            name='idle_minutes',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='AssetPermission',
            name='max_minutes',
            field=fields.IntField(null=True),
        ),
    ]
