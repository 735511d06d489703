// Descriptions of the role permissions in other languages, by permission name; the
// server's own (English) description is shown for a language or name not listed.
export const PERMISSION_DESCRIPTIONS: Record<string, Record<string, string>> = {
  'zh-CN': {
    'orgs.manage': '创建、重命名和删除组织（超级管理员）',
    'users.view': '查看用户',
    'users.manage': '创建、修改、停用用户；重置密码和 MFA',
    'groups.view': '查看用户组',
    'groups.manage': '创建和修改用户组',
    'roles.view': '查看角色',
    'roles.manage': '创建和修改自定义角色',
    'assets.view': '查看资产和资产树',
    'assets.manage': '创建、修改、导入和删除资产及节点',
    'accounts.view': '查看账号（从不显示密钥）',
    'accounts.manage': '创建账号并更换其密钥',
    'permissions.view': '查看资产授权',
    'permissions.manage': '授予和收回资产授权',
    'tokens.manage': '创建和吊销 API 令牌',
    'audit.view': '查看登录日志、操作日志和仪表盘',
    'sessions.view': '列出会话并回放录像',
    'sessions.monitor': '监控和加入实时会话',
    'sessions.terminate': '结束他人的实时会话',
    'settings.manage': '修改安全、MFA、会话和水印设置',
    'acls.manage': '修改登录规则（超级管理员）',
  },
}
