// Open sessions of this browser tab. Kept in memory only: a reload closes them, and
// credentials typed for an @INPUT account never touch localStorage.
import { reactive } from 'vue'
import type { Id, MyAccount } from '@/api/types'

export interface ManualCredentials {
  username: string
  password: string
}

/** A Kubernetes terminal's target: the container may be empty (the pod's default). */
export interface K8sChoice {
  namespace: string
  pod: string
  container: string
}

/** A RemoteApp applet as `GET /my/applets?asset=` lists it (only what a tab needs). */
export interface AppletChoice {
  id: Id
  name: string
}

export interface WorkspaceTab {
  key: string
  assetId: Id
  assetName: string
  address: string
  platform: string
  protocol: string
  account: MyAccount
  /** The permission's actions on this asset (copy, paste, upload, …). */
  actions: string[]
  /** Only for @INPUT accounts; memory only, dropped when the tab closes. */
  manual?: ManualCredentials
  /** Protocol k8s: the pod the shell runs in. */
  k8s?: K8sChoice
  /** Protocol remoteapp: the applet (one program on an app host) the desktop tab runs. */
  applet?: AppletChoice
  openedAt: number
  /** Set by the session panel: connecting, open, ended. */
  state?: 'connecting' | 'open' | 'ended'
}

export const workspace = reactive<{ tabs: WorkspaceTab[]; active: string }>({ tabs: [], active: '' })

let seq = 0

export function openTab(tab: Omit<WorkspaceTab, 'key' | 'openedAt'>): WorkspaceTab {
  const t: WorkspaceTab = { ...tab, key: `s${++seq}-${Date.now().toString(36)}`, openedAt: Date.now(), state: 'connecting' }
  workspace.tabs.push(t)
  workspace.active = t.key
  return workspace.tabs[workspace.tabs.length - 1]
}

export function closeTab(key: string): void {
  const i = workspace.tabs.findIndex((t) => t.key === key)
  if (i < 0) return
  const [gone] = workspace.tabs.splice(i, 1)
  if (gone.manual) gone.manual.password = ''
  if (workspace.active === key) workspace.active = workspace.tabs[Math.min(i, workspace.tabs.length - 1)]?.key ?? ''
}

export function isManualAccount(a: MyAccount): boolean {
  return a.name === '@INPUT' || a.alias === '@INPUT' || a.username === '@INPUT'
}

export function accountLabel(a: MyAccount): string {
  if (isManualAccount(a)) return '@INPUT'
  if (a.alias && a.alias !== a.name) return `${a.name} (${a.username || a.alias})`
  return a.username && a.username !== a.name ? `${a.name} (${a.username})` : a.name
}

/** "namespace/pod" or "namespace/pod/container" of a Kubernetes tab. */
export function podLabel(k: K8sChoice | undefined): string {
  if (!k || !k.pod) return ''
  return [k.namespace, k.pod, k.container].filter(Boolean).join('/')
}
