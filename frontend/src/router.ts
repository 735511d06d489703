import { createRouter, createWebHistory, type RouteRecordRaw, type RouteComponent } from 'vue-router'

type RouteComponentLoader = () => Promise<RouteComponent | { default: RouteComponent }>
import { can, isSuperAdmin, loadMe, session } from '@/stores/session'
import { findNav } from '@/nav'
import AppLayout from '@/layouts/AppLayout.vue'
import LoginView from '@/views/LoginView.vue'
import MyAssetsView from '@/views/MyAssetsView.vue'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    title?: string
  }
}

const admin = (name: string, path: string, component: RouteComponentLoader, title: string): RouteRecordRaw => ({
  name,
  path,
  component,
  meta: { title },
})

const routes: RouteRecordRaw[] = [
  { name: 'login', path: '/login', component: LoginView, meta: { public: true, title: 'login.title' } },
  {
    path: '/',
    component: AppLayout,
    children: [
      { name: 'assets', path: '', component: MyAssetsView, meta: { title: 'nav.myAssets' } },
      { name: 'workspace', path: 'workspace', component: () => import('@/views/WorkspaceView.vue'), meta: { title: 'nav.workspace' } },
      { name: 'connect', path: 'connect', component: () => import('@/views/ConnectView.vue'), meta: { title: 'nav.workspace' } },
      { name: 'profile', path: 'profile', component: () => import('@/views/ProfileView.vue'), meta: { title: 'profile.title' } },
      admin('dashboard', 'dashboard', () => import('@/views/DashboardView.vue'), 'nav.dashboard'),
      admin('orgs', 'admin/orgs', () => import('@/views/admin/OrgsView.vue'), 'nav.orgs'),
      admin('users', 'admin/users', () => import('@/views/admin/UsersView.vue'), 'nav.users'),
      admin('groups', 'admin/groups', () => import('@/views/admin/GroupsView.vue'), 'nav.groups'),
      admin('roles', 'admin/roles', () => import('@/views/admin/RolesView.vue'), 'nav.roles'),
      admin('tokens', 'admin/tokens', () => import('@/views/admin/TokensView.vue'), 'nav.tokens'),
      admin('login-acls', 'admin/login-acls', () => import('@/views/admin/LoginAclsView.vue'), 'nav.loginAcls'),
      admin('admin-assets', 'admin/assets', () => import('@/views/admin/AssetsView.vue'), 'nav.assets'),
      admin('accounts', 'admin/accounts', () => import('@/views/admin/AccountsView.vue'), 'nav.accounts'),
      admin('account-templates', 'admin/account-templates', () => import('@/views/admin/AccountTemplatesView.vue'), 'nav.accountTemplates'),
      admin('permissions', 'admin/permissions', () => import('@/views/admin/PermissionsView.vue'), 'nav.permissions'),
      admin('applets', 'admin/applets', () => import('@/views/admin/AppletsView.vue'), 'nav.applets'),
      admin('settings', 'admin/settings', () => import('@/views/admin/SettingsView.vue'), 'nav.settings'),
      admin('sessions-audit', 'audit/sessions', () => import('@/views/audit/SessionsView.vue'), 'nav.sessionsAudit'),
      admin('login-log', 'audit/login-log', () => import('@/views/audit/LoginLogView.vue'), 'nav.loginLog'),
      admin('operation-log', 'audit/operation-log', () => import('@/views/audit/OperationLogView.vue'), 'nav.operationLog'),
      { name: 'forbidden', path: 'forbidden', component: () => import('@/views/NotFoundView.vue'), props: { code: 403 }, meta: { title: 'errors.forbiddenTitle' } },
      { name: 'not-found', path: ':pathMatch(.*)*', component: () => import('@/views/NotFoundView.vue'), props: { code: 404 }, meta: { title: 'errors.notFoundTitle' } },
    ],
  },
]

export const router = createRouter({ history: createWebHistory('/'), routes })

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  let me = session.me
  try {
    me = await loadMe()
  } catch {
    /* network or server trouble: keep whatever we had */
  }
  if (!me || (me.stage && me.stage !== 'done')) {
    return { name: 'login', query: to.fullPath === '/' ? {} : { next: to.fullPath } }
  }
  const nav = typeof to.name === 'string' ? findNav(to.name) : undefined
  if (nav && ((nav.superadmin && !isSuperAdmin()) || (nav.perm && !can(nav.perm)))) {
    return { name: 'forbidden' }
  }
  return true
})

/** Same-origin path only: one leading slash, no `//` or `/\` (open-redirect guard). */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/')) return '/'
  if (next.startsWith('//') || next.startsWith('/\\')) return '/'
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return '/'
  try {
    const u = new URL(next, window.location.origin)
    if (u.origin !== window.location.origin) return '/'
    return u.pathname + u.search + u.hash
  } catch {
    return '/'
  }
}
