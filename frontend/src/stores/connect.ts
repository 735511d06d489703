// The Connect flow shared by the asset list and deep links: pick an account (and
// remember the choice per asset), ask for manual credentials, open a workspace tab.
import { reactive } from 'vue'
import type { MyAccount, MyAsset } from '@/api/types'
import { isManualAccount, openTab, type K8sChoice, type ManualCredentials } from './workspace'
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
  resolve: null,
})

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
export function startConnect(asset: MyAsset, protocol: string, preferred?: string, k8s?: Partial<K8sChoice>): Promise<boolean> {
  const accounts = asset.accounts ?? []
  if (accounts.length === 0) return Promise.reject(new Error('no_account'))
  let idx = preferred ? accounts.findIndex((a) => a.name === preferred) : -1
  if (idx < 0 && preferred) idx = accounts.findIndex((a) => a.id != null && String(a.id) === preferred)
  const direct = idx >= 0 || accounts.length === 1
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
  })
  remember(asset, flow.protocol, account)
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
