"""RemoteApp applets: one program an admin lets people run against a website or database asset.

An applet is shown in the browser as a single window. ``kind`` says where it runs: ``linux``
(an app host starts an Xvnc display per session running only ``program``) or ``windows``
(RDP RemoteApp on a Windows app host asset). ``arguments`` are argv templates with the
placeholders {url} {host} {port} {username} {database} and {password_file}. The password
itself never appears in a template: the app host injects it (web login autofill, a 0600
file, an environment variable).
"""

from __future__ import annotations

from tortoise import fields

from webgate.db.models._base import OrgScoped


class Applet(OrgScoped):
    name = fields.CharField(max_length=128)
    icon = fields.TextField(default="")  # a name from a fixed set, or a small image data URL
    comment = fields.TextField(default="")
    asset_platforms = fields.JSONField(default=list)  # asset platforms it opens, e.g. website, mysql
    protocol = fields.CharField(max_length=16)  # the asset protocol the permission must allow
    kind = fields.CharField(max_length=16, default="linux")  # linux | windows
    program = fields.CharField(max_length=512, default="")
    arguments = fields.JSONField(default=list)  # argv templates, one list item per argument
    password_env = fields.CharField(max_length=64, default="")  # e.g. MYSQL_PWD, PGPASSWORD
    autofill = fields.JSONField(default=dict)  # CSS selectors: username, password, submit
    app_host = fields.CharField(max_length=64, default="")  # a name from WEBGATE_APP_HOSTS, "" = the first
    host_asset = fields.ForeignKeyField("webgate.Asset", null=True, related_name="hosted_applets",
                                        on_delete=fields.SET_NULL)  # windows: the RDP app host
    host_account = fields.ForeignKeyField("webgate.Account", null=True, related_name="hosted_applets",
                                          on_delete=fields.SET_NULL)  # windows: the login on the app host
    remote_app = fields.CharField(max_length=512, default="")  # windows: e.g. ||chrome
    remote_app_dir = fields.CharField(max_length=512, default="")
    is_active = fields.BooleanField(default=True)

    class Meta:
        table = "applets"
        ordering = ["name"]
        unique_together = (("org", "name"),)
