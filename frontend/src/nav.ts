// The left menu. `perm` lists permissions of which any one shows the entry
// (super admins see everything); `superadmin` entries are for super admins only.
import type { Component } from 'vue'
import {
  Monitor, Odometer, OfficeBuilding, User, UserFilled, Key, Box, Lock, Connection,
  Tickets, Setting, Document, List, Stamp, Collection, Files, VideoCamera, Grid,
} from '@element-plus/icons-vue'

export interface NavItem {
  name: string // route name; test id is nav-<name>
  path: string
  label: string // i18n key
  icon: Component
  perm?: string[]
  superadmin?: boolean
}

export interface NavGroup {
  label: string
  items: NavItem[]
}

export const NAV: NavGroup[] = [
  {
    label: 'nav.group.workspace',
    items: [
      { name: 'assets', path: '/', label: 'nav.myAssets', icon: Monitor },
      { name: 'workspace', path: '/workspace', label: 'nav.workspace', icon: Files },
      { name: 'dashboard', path: '/dashboard', label: 'nav.dashboard', icon: Odometer, perm: ['audit.view', 'dashboard.view'] },
    ],
  },
  {
    label: 'nav.group.identity',
    items: [
      { name: 'orgs', path: '/admin/orgs', label: 'nav.orgs', icon: OfficeBuilding, superadmin: true },
      { name: 'users', path: '/admin/users', label: 'nav.users', icon: User, perm: ['users.view'] },
      { name: 'groups', path: '/admin/groups', label: 'nav.groups', icon: UserFilled, perm: ['groups.view', 'users.view'] },
      { name: 'roles', path: '/admin/roles', label: 'nav.roles', icon: Stamp, perm: ['roles.view'] },
      { name: 'tokens', path: '/admin/tokens', label: 'nav.tokens', icon: Key, perm: ['tokens.view', 'tokens.manage'] },
      { name: 'login-acls', path: '/admin/login-acls', label: 'nav.loginAcls', icon: Lock, superadmin: true },
    ],
  },
  {
    label: 'nav.group.assets',
    items: [
      { name: 'admin-assets', path: '/admin/assets', label: 'nav.assets', icon: Box, perm: ['assets.view'] },
      { name: 'accounts', path: '/admin/accounts', label: 'nav.accounts', icon: Collection, perm: ['accounts.view'] },
      { name: 'account-templates', path: '/admin/account-templates', label: 'nav.accountTemplates', icon: Tickets, perm: ['accounts.view', 'account_templates.view'] },
      { name: 'permissions', path: '/admin/permissions', label: 'nav.permissions', icon: Connection, perm: ['permissions.view'] },
      { name: 'applets', path: '/admin/applets', label: 'nav.applets', icon: Grid, perm: ['applets.view'] },
    ],
  },
  {
    label: 'nav.group.audit',
    items: [
      { name: 'sessions-audit', path: '/audit/sessions', label: 'nav.sessionsAudit', icon: VideoCamera, perm: ['sessions.view'] },
      { name: 'login-log', path: '/audit/login-log', label: 'nav.loginLog', icon: Document, perm: ['audit.view'] },
      { name: 'operation-log', path: '/audit/operation-log', label: 'nav.operationLog', icon: List, perm: ['audit.view'] },
    ],
  },
  {
    label: 'nav.group.system',
    items: [{ name: 'settings', path: '/admin/settings', label: 'nav.settings', icon: Setting, perm: ['settings.manage', 'settings.view'] }],
  },
]

export function findNav(name: string): NavItem | undefined {
  for (const g of NAV) for (const i of g.items) if (i.name === name) return i
  return undefined
}
