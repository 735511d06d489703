// The Connect flow shared by the asset list and deep links: pick an account (and
// remember the choice per asset), ask for manual credentials, open a workspace tab.
import { reactive } from 'vue'
import type { Id, MyAccount, MyAsset } from '@/api/types'
import { api } from '@/api/http'
import { protocolKind } from '@/utils/protocols'
import { isManualAccount, openTab, type AppletChoice, type K8sChoice, type ManualCredentials } from './workspace'
import { readJSON, writeJSON } from '@/utils/storage'

const LAST_KEY = 'webgate.lastAccount'
const RECENT_KEY = 'webgate.recent'

export interface RecentItem {
  assetId: string
  name: string
  platform: string
  protocol: string
  at: number
}

interface FlowState {
  visible: boolean
  /** choose an account → (manual credentials) → (Kubernetes: namespace, pod, container) */
  step: 'choose' | 'manual' | 'k8s'
  asset: MyAsset | null
  protocol: string
  selected: number
  manual: ManualCredentials
  /** Protocol k8s: where the shell opens. */
  k8s: K8sChoice
  /** The user came through the account list (offer Back from later steps). */
  chose: boolean
  /** RemoteApp applets that can open this asset ("Open with Chrome"); empty when none or no such API. */
  applets: AppletItem[]
  /** The applet the tab will run (protocol remoteapp). */
  applet: AppletChoice | null
  /** The protocol Connect was clicked for (flow.protocol becomes remoteapp for an applet). */
  clicked: string
  resolve: ((ok: boolean) => void) | null
}

export const flow = reactive<FlowState>({
  visible: false,
  step: 'choose',
  asset: null,
  protocol: '',
  selected: 0,
  manual: { username: '', password: '' },
  k8s: { namespace: '', pod: '', container: '' },
  chose: false,
  applets: [],
  applet: null,
  clicked: '',
  resolve: null,
})

export const REMOTEAPP_PROTOCOL = 'remoteapp'

export interface AppletItem {
  id: Id
  name: string
  icon?: string
}

/** `GET /my/applets?asset=`: the applets this user may open the asset with; nothing when the API is absent. */
export async function loadApplets(assetId: Id): Promise<AppletItem[]> {
  try {
    const r = await api.get<{ items?: AppletItem[] }>('/my/applets', { asset: String(assetId) }, { silent: true })
    return Array.isArray(r?.items) ? r.items.filter((a) => a && a.id != null && typeof a.name === 'string') : []
  } catch {
    return []
  }
}

/** Applets open websites and databases; terminals and desktops are reached directly. */
function mayHaveApplets(protocol: string): boolean {
  const kind = protocolKind(protocol)
  return kind !== 'terminal' && kind !== 'desktop'
}

export const K8S_PROTOCOL = 'k8s'

function lastChoices(): Record<string, string> {
  return readJSON<Record<string, string>>(LAST_KEY, {})
}

export function recentItems(): RecentItem[] {
  return readJSON<RecentItem[]>(RECENT_KEY, [])
}

function remember(asset: MyAsset, protocol: string, account: MyAccount) {
  const last = lastChoices()
  last[String(asset.id)] = account.name
  writeJSON(LAST_KEY, last)
  const recent = recentItems().filter((r) => r.assetId !== String(asset.id))
  recent.unshift({ assetId: String(asset.id), name: asset.name, platform: asset.platform, protocol, at: Date.now() })
  writeJSON(RECENT_KEY, recent.slice(0, 8))
}

/**
 * Start connecting. Resolves true when a tab was opened, false when the user
 * cancelled. `preferred` is an account name or id (deep links); `k8s` a pod chosen
 * in advance (deep links: with namespace and pod the picker is skipped).
 */
export async function startConnect(
  asset: MyAsset,
  protocol: string,
  preferred?: string,
  k8s?: Partial<K8sChoice>,
  applet?: AppletChoice,
): Promise<boolean> {
  const accounts = asset.accounts ?? []
  if (accounts.length === 0) throw new Error('no_account')
  const applets = !applet && mayHaveApplets(protocol) ? await loadApplets(asset.id) : []
  let idx = preferred ? accounts.findIndex((a) => a.name === preferred) : -1
  if (idx < 0 && preferred) idx = accounts.findIndex((a) => a.id != null && String(a.id) === preferred)
  // With applets on offer the dialog always shows, so the user can pick "Open with …".
  const direct = (idx >= 0 || accounts.length === 1) && applets.length === 0
  if (idx < 0) {
    const last = lastChoices()[String(asset.id)]
    idx = Math.max(0, last ? accounts.findIndex((a) => a.name === last) : 0)
  }
  flow.asset = asset
  flow.protocol = protocol
  flow.selected = idx
  flow.manual = { username: '', password: '' }
  flow.k8s = { namespace: k8s?.namespace ?? '', pod: k8s?.pod ?? '', container: k8s?.container ?? '' }
  flow.chose = !direct
  flow.applets = applets
  flow.applet = applet ?? null
  flow.clicked = protocol
  return new Promise<boolean>((resolve) => {
    flow.resolve = resolve
    if (direct) {
      if (isManualAccount(accounts[idx])) {
        flow.step = 'manual'
        flow.visible = true
      } else if (protocol === K8S_PROTOCOL && !(flow.k8s.namespace && flow.k8s.pod)) {
        flow.step = 'k8s'
        flow.visible = true
      } else finishConnect()
    } else {
      flow.step = 'choose'
      flow.visible = true
    }
  })
}

/** "Open with <applet>": the chosen account, opened by the applet as a RemoteApp desktop. */
export function chooseApplet(applet: AppletItem): void {
  flow.applet = { id: applet.id, name: applet.name }
  flow.protocol = REMOTEAPP_PROTOCOL
  chooseAccount()
}

/** Called by the dialog after a choice (or directly for one plain account). */
export function chooseAccount(): void {
  const a = flow.asset?.accounts[flow.selected]
  if (!a) return
  if (isManualAccount(a)) {
    flow.step = 'manual'
    return
  }
  if (flow.protocol === K8S_PROTOCOL) {
    flow.step = 'k8s'
    return
  }
  finishConnect()
}

/** After typing manual credentials: Kubernetes still needs the pod. */
export function manualNext(): void {
  if (flow.protocol === K8S_PROTOCOL && flow.step === 'manual') {
    flow.step = 'k8s'
    return
  }
  finishConnect()
}

export function backToAccounts(): void {
  flow.step = 'choose'
  if (flow.applets.length) {
    flow.protocol = flow.clicked
    flow.applet = null
  }
}

export function finishConnect(): void {
  const asset = flow.asset
  const account = asset?.accounts[flow.selected]
  if (!asset || !account) return
  const manual = isManualAccount(account) ? { ...flow.manual } : undefined
  openTab({
    assetId: asset.id,
    assetName: asset.name,
    address: asset.address,
    platform: asset.platform,
    protocol: flow.protocol,
    account: manual ? { ...account, username: manual.username } : account,
    actions: [...(asset.actions ?? [])],
    manual,
    k8s: flow.protocol === K8S_PROTOCOL ? { ...flow.k8s } : undefined,
    applet: flow.protocol === REMOTEAPP_PROTOCOL && flow.applet ? { ...flow.applet } : undefined,
  })
  remember(asset, flow.clicked || flow.protocol, account)
  flow.manual = { username: '', password: '' }
  flow.visible = false
  const r = flow.resolve
  flow.resolve = null
  r?.(true)
}

export function cancelConnect(): void {
  flow.visible = false
  flow.manual = { username: '', password: '' }
  const r = flow.resolve
  flow.resolve = null
  r?.(false)
}
