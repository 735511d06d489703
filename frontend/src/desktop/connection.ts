// One remote desktop: the gateway's /ws/guacamole tunnel and a Guacamole.Client on it.
// Knows nothing about Vue; the panel wires the display, input and panels to it.
//
// The tunnel is ours rather than Guacamole.WebSocketTunnel because the stock one drops
// every tunnel-internal instruction after the first and turns a silent socket close into
// "upstream not found" (which would read as a wrong password). Ours keeps the same wire
// contract (subprotocol "guacamole", `0.,36.<uuid>;` first, internal pings) and reports
// the gateway's own `webgate session|credentials <json>` instructions and how the socket
// closed, and sends the one instruction of the browser's own, `webgate credentials`.
import Guacamole from 'guacamole-common-js'
import { reasonFor, type DesktopReason } from './status'

export interface DesktopParams {
  asset: string
  account: string
  protocol: string
  width: number
  height: number
  dpi: number
  /** RemoteApp: the applet's id. */
  applet?: string
}

export interface DesktopEnding {
  reason: DesktopReason
  /** The gateway's (or guacd's) sentence, when it sent one. */
  message: string
  code: number | null
  /** It never showed a picture (wrong password, unreachable, not permitted…). */
  beforeOpen: boolean
}

/** The gateway's own `webgate session <json>` instruction, sent once the session is open. */
export interface SessionInfo {
  session_id?: string
  /** The actions the gateway enforces for this session (copy, paste, upload, download…). */
  actions?: unknown[]
  watermark?: { enabled?: boolean; text?: string; content?: string } | null
}

/** The gateway's `webgate credentials <json>`: an @INPUT account's login is to be typed. */
export interface CredentialsAsk {
  /** The account's fixed user name, or '' when the user types it. */
  username: string
  /** Ask the user name too (RDP without a fixed one; VNC logs in with a password only). */
  needUsername: boolean
}

export interface DesktopHandlers {
  /** The first frame arrived. */
  open(): void
  /** The gateway asks for the login of an @INPUT account: answer with `sendCredentials`. */
  credentials?(ask: CredentialsAsk): void
  ended(e: DesktopEnding): void
  /** What the gateway says about the session: its id, the enforced actions, the watermark. */
  session?(info: SessionInfo): void
  /** Round trip of the last internal ping, in ms. */
  latency?(ms: number): void
}

const PING_EVERY_MS = 2_000
/** Instructions of the gateway's own (`webgate session <json>`), never guacd's. */
const GATEWAY_OPCODE = 'webgate'
const RECEIVE_TIMEOUT_MS = 20_000
const TIMEZONE = /^[A-Za-z0-9_+\-/]{1,64}$/

export function tunnelQuery(p: DesktopParams): string {
  const q = new URLSearchParams({
    asset: p.asset,
    account: p.account,
    protocol: p.protocol,
    width: String(Math.round(p.width)),
    height: String(Math.round(p.height)),
    dpi: String(Math.round(p.dpi)),
  })
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone
  if (tz && TIMEZONE.test(tz)) q.set('timezone', tz)
  if (p.applet) q.set('applet', p.applet)
  // What this browser decodes and plays: guacd must not send WebP or sound it cannot use.
  for (const type of imageTypes()) q.append('image', type)
  for (const type of Guacamole.AudioPlayer.getSupportedTypes()) q.append('audio', type)
  return q.toString()
}

let images: string[] | null = null

function imageTypes(): string[] {
  if (!images) {
    images = ['image/png', 'image/jpeg']
    const canvas = document.createElement('canvas')
    canvas.width = canvas.height = 1
    if (canvas.toDataURL('image/webp').startsWith('data:image/webp')) images.push('image/webp')
  }
  return images
}

export function tunnelUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/guacamole`
}

/** Guacamole element lengths count Unicode code points, not UTF-16 units (file names with emoji). */
function element(value: unknown): string {
  const s = String(value)
  return `${[...s].length}.${s}`
}

interface TunnelHooks {
  internal(name: string, args: string[]): void
  closed(ev: CloseEvent | null): void
}

/** What Guacamole.Tunnel's constructor gives every tunnel at run time (the typings omit it). */
type BaseTunnel = Guacamole.Tunnel & { setState(state: Guacamole.Tunnel.State): void; setUUID(uuid: string): void }

function gatewayTunnel(url: string, hooks: TunnelHooks): Guacamole.Tunnel {
  const Base = Guacamole.Tunnel as unknown as new () => BaseTunnel
  const tunnel = new Base()
  const State = Guacamole.Tunnel.State
  let socket: WebSocket | null = null
  let pinger = 0
  let watchdog = 0
  let parser: Guacamole.Parser | null = null

  const stop = (ev: CloseEvent | null) => {
    window.clearInterval(pinger)
    window.clearTimeout(watchdog)
    if (tunnel.state === State.CLOSED) return
    tunnel.setState(State.CLOSED)
    const s = socket
    socket = null
    if (s && s.readyState <= WebSocket.OPEN) s.close(1000)
    hooks.closed(ev)
  }
  const alive = () => {
    window.clearTimeout(watchdog)
    watchdog = window.setTimeout(() => stop(null), RECEIVE_TIMEOUT_MS)
  }

  tunnel.sendMessage = (...elements: unknown[]) => {
    if (!socket || socket.readyState !== WebSocket.OPEN || elements.length === 0) return
    socket.send(elements.map(element).join(',') + ';')
  }
  tunnel.connect = (data?: string) => {
    tunnel.setState(State.CONNECTING)
    const ws = new WebSocket(`${url}?${data ?? ''}`, 'guacamole')
    socket = ws
    parser = new Guacamole.Parser()
    parser.oninstruction = (opcode, params) => {
      const args = params.map(String)
      if (opcode === GATEWAY_OPCODE) {
        hooks.internal(args[0] ?? '', args.slice(1))
        return
      }
      if (opcode !== '') {
        tunnel.oninstruction?.(opcode, args)
        return
      }
      if (tunnel.uuid === null && args.length === 1) {
        tunnel.setUUID(args[0])
        tunnel.setState(State.OPEN)
        return
      }
      hooks.internal(args[0] ?? '', args.slice(1))
    }
    ws.onopen = () => {
      alive()
      pinger = window.setInterval(() => tunnel.sendMessage('', 'ping', Date.now()), PING_EVERY_MS)
    }
    ws.onmessage = (ev) => {
      alive()
      try {
        parser?.receive(String(ev.data))
      } catch {
        stop(null)
      }
    }
    ws.onclose = (ev) => {
      if (socket === ws) stop(ev)
    }
  }
  tunnel.disconnect = () => stop(null)
  return tunnel
}

export class DesktopConnection {
  readonly client: Guacamole.Client
  private tunnel: Guacamole.Tunnel
  private error: { code: number; message: string } | null = null
  private remoteDisconnect = false
  private opened = false
  private done = false

  constructor(
    private params: DesktopParams,
    private h: DesktopHandlers,
  ) {
    this.tunnel = gatewayTunnel(tunnelUrl(), {
      internal: (name, args) => this.onInternal(name, args),
      closed: (ev) => this.onClosed(ev),
    })
    const client = new Guacamole.Client(this.tunnel)
    this.client = client
    client.onerror = (status) => {
      this.error ??= { code: status.code, message: status.message ?? '' }
    }
    client.onstatechange = (state) => {
      if (state === Guacamole.Client.State.CONNECTED && !this.opened) {
        this.opened = true
        this.h.open()
      } else if (state === Guacamole.Client.State.DISCONNECTING && !this.done) {
        // guacd's `disconnect` (or `error`): the client hangs up the tunnel itself next.
        if (!this.error) this.remoteDisconnect = true
      } else if (state === Guacamole.Client.State.DISCONNECTED) {
        this.finish(null)
      }
    }
  }

  open(): void {
    this.client.connect(tunnelQuery(this.params))
  }

  private onInternal(name: string, args: string[]): void {
    if (name === 'ping') {
      const sent = Number(args[0])
      if (Number.isFinite(sent)) this.h.latency?.(Date.now() - sent)
    } else if (name === 'credentials') {
      let info: { username?: unknown; need_username?: unknown } = {}
      try {
        info = (JSON.parse(args[0] ?? '') as typeof info) ?? {}
      } catch {
        /* asked all the same: the form shows both fields */
      }
      const username = typeof info.username === 'string' ? info.username : ''
      this.h.credentials?.({ username, needUsername: info.need_username !== false && !username })
    } else if (name === 'session') {
      try {
        const info = JSON.parse(args[0] ?? '') as unknown
        if (info && typeof info === 'object') this.h.session?.(info as SessionInfo)
      } catch {
        /* not ours to break the session over */
      }
    }
  }

  private onClosed(ev: CloseEvent | null): void {
    this.finish(ev)
  }

  private finish(ev: CloseEvent | null): void {
    if (this.done) return
    this.done = true
    const beforeOpen = !this.opened
    const e = this.error
    if (e) {
      this.h.ended({ reason: reasonFor(e.code, e.message), message: e.message, code: e.code, beforeOpen })
    } else if (ev?.code === 4401) {
      this.h.ended({ reason: 'login_expired', message: ev.reason, code: null, beforeOpen })
    } else if (ev?.code === 4403) {
      this.h.ended({ reason: 'forbidden', message: ev.reason, code: null, beforeOpen })
    } else if (this.remoteDisconnect || ev?.code === 1000) {
      this.h.ended({ reason: 'disconnected', message: '', code: null, beforeOpen })
    } else {
      this.h.ended({ reason: 'network_lost', message: ev?.reason ?? '', code: null, beforeOpen })
    }
    // Whatever happened, the client must not keep a keep-alive timer running.
    this.client.disconnect()
  }

  /** The typed login, once, to the gateway only: it is consumed there, never passed to guacd. */
  sendCredentials(username: string, password: string): void {
    if (!this.done) this.tunnel.sendMessage(GATEWAY_OPCODE, 'credentials', username, password)
  }

  sendKey(pressed: 0 | 1, keysym: number): void {
    if (this.opened && !this.done) this.client.sendKeyEvent(pressed, keysym)
  }

  sendSize(width: number, height: number): void {
    const w = Math.round(width)
    const h = Math.round(height)
    if (w < 1 || h < 1 || (w === this.params.width && h === this.params.height)) return
    this.params.width = w
    this.params.height = h
    if (this.opened && !this.done) this.client.sendSize(w, h)
  }

  get isOpen(): boolean {
    return this.opened && !this.done
  }

  /** Leave: the gateway ends the session as closed by the user. Handlers are not called. */
  close(): void {
    this.done = true
    this.client.disconnect()
    this.tunnel.disconnect()
  }
}
