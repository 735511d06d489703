// The Connect flow shared by the asset list and deep links: pick an account (and
// remember the choice per asset), ask for manual credentials, open a workspace tab.
import { reactive } from 'vue'
import type { MyAccount, MyAsset } from '@/api/types'
import { isManualAccount, openTab, type ManualCredentials } from './workspace'
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
  step: 'choose' | 'manual'
  asset: MyAsset | null
  protocol: string
  selected: number
  manual: ManualCredentials
  resolve: ((ok: boolean) => void) | null
}

export const flow = reactive<FlowState>({
  visible: false,
  step: 'choose',
  asset: null,
  protocol: '',
  selected: 0,
  manual: { username: '', password: '' },
  resolve: null,
})

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
 * cancelled. `preferred` is an account name (deep links).
 */
export function startConnect(asset: MyAsset, protocol: string, preferred?: string): Promise<boolean> {
  const accounts = asset.accounts ?? []
  if (accounts.length === 0) return Promise.reject(new Error('no_account'))
  let idx = preferred ? accounts.findIndex((a) => a.name === preferred) : -1
  const direct = idx >= 0 || accounts.length === 1
  if (idx < 0) {
    const last = lastChoices()[String(asset.id)]
    idx = Math.max(0, last ? accounts.findIndex((a) => a.name === last) : 0)
  }
  flow.asset = asset
  flow.protocol = protocol
  flow.selected = idx
  flow.manual = { username: '', password: '' }
  return new Promise<boolean>((resolve) => {
    flow.resolve = resolve
    if (direct) {
      if (isManualAccount(accounts[idx])) {
        flow.step = 'manual'
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
  finishConnect()
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
