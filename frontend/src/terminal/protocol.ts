// The /ws/terminal wire protocol (docs/terminal-protocol.md): binary frames carry
// terminal bytes both ways; JSON text frames carry these control messages.

export interface StatusMsg {
  type: 'status'
  state: 'connecting' | 'credentials_required' | 'open' | string
  session_id?: string
  username?: string
  /** With `open`: the grant's actions the gateway enforces for this session (copy, paste, …). */
  actions?: string[]
}
export interface WatermarkMsg {
  type: 'watermark'
  enabled: boolean
  content?: string
  text?: string
}
export interface PongMsg {
  type: 'pong'
  t?: number | string | null
}
export interface ErrorMsg {
  type: 'error'
  code: string
  message: string
  fatal: boolean
  details?: Record<string, unknown>
}
export interface ExitMsg {
  type: 'exit'
  reason: string
  message: string
  code?: number | null
}
export type ServerMsg = StatusMsg | WatermarkMsg | PongMsg | ErrorMsg | ExitMsg

export type ClientMsg =
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'ping'; t: number }
  | { type: 'credentials'; username: string; password: string }

export const MAX_COLS = 1000
export const MAX_ROWS = 500
/** Input frames are cut into pieces of this size (the gateway takes ≤ 1 MiB per frame). */
export const INPUT_CHUNK = 64 * 1024

export interface OpenParams {
  asset: string
  protocol: string
  account: string
  cols: number
  rows: number
  /** Protocol k8s: where to exec (query parameters `namespace`, `pod`, `container`). */
  namespace?: string
  pod?: string
  container?: string
}

export function terminalUrl(p: OpenParams, loc: Location = window.location): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:'
  const q = new URLSearchParams({
    asset: p.asset,
    protocol: p.protocol,
    account: p.account,
    cols: String(clamp(p.cols, 1, MAX_COLS)),
    rows: String(clamp(p.rows, 1, MAX_ROWS)),
  })
  for (const k of ['namespace', 'pod', 'container'] as const) if (p[k]) q.set(k, p[k] as string)
  return `${scheme}//${loc.host}/ws/terminal?${q.toString()}`
}

export function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(Number.isFinite(n) ? n : lo)))
}

export function parseServerMsg(text: string): ServerMsg | null {
  try {
    const m = JSON.parse(text) as unknown
    if (m && typeof m === 'object' && typeof (m as { type?: unknown }).type === 'string') return m as ServerMsg
  } catch {
    /* not JSON: ignored (the gateway only sends JSON text frames) */
  }
  return null
}
