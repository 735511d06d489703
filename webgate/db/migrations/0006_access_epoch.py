from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('webgate', '0005_applets')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccessEpoch',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('value', fields.BigIntField(default=0)),
            ],
            options={'table': 'access_epoch', 'app': 'webgate', 'pk_attr': 'id', 'table_description': 'One counter, moved by every write that may withdraw access (webgate/policy/epoch.py).'},
            bases=['Model'],
        ),
    ]
