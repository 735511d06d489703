// One terminal WebSocket: bytes in and out, typed control messages, keep-alive.
// Knows nothing about xterm or Vue; the panel wires it to both.
import { INPUT_CHUNK, clamp, MAX_COLS, MAX_ROWS, parseServerMsg, terminalUrl, type ClientMsg, type ExitMsg, type ErrorMsg, type OpenParams, type StatusMsg, type WatermarkMsg } from './protocol'

export type Phase = 'connecting' | 'credentials' | 'open' | 'closed'

/** Why the socket ended, as the banner shows it. */
export interface Ending {
  /** `exit.reason`, `error.code`, or `network_lost` when the socket dropped without a word. */
  reason: string
  message: string
  code?: number | null
  /** The session never opened (wrong password, unreachable, not permitted…). */
  beforeOpen: boolean
}

export interface ConnectionHandlers {
  output(data: Uint8Array): void
  status(msg: StatusMsg): void
  watermark(msg: WatermarkMsg): void
  /** A non-fatal refusal (paste_denied, validation_error…): the session goes on. */
  notice(msg: ErrorMsg): void
  ended(end: Ending): void
  /** Round trip of the last ping, in ms. */
  latency?(ms: number): void
  /** `credentials_required`: answer with `sendCredentials`. */
  credentials(username: string): void
}

const PING_EVERY_MS = 20_000

export class TerminalConnection {
  private ws: WebSocket | null = null
  private encoder = new TextEncoder()
  private pinger: number | undefined
  private final: ExitMsg | ErrorMsg | null = null
  private endedOnce = false
  phase: Phase = 'connecting'
  sessionId = ''

  constructor(
    private params: OpenParams,
    private h: ConnectionHandlers,
  ) {}

  open(): void {
    const ws = new WebSocket(terminalUrl(this.params))
    ws.binaryType = 'arraybuffer'
    this.ws = ws
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') this.onControl(ev.data)
      else this.h.output(new Uint8Array(ev.data as ArrayBuffer))
    }
    ws.onclose = (ev) => this.onClose(ev)
    ws.onerror = () => {
      /* followed by close; the reason is decided there */
    }
    this.pinger = window.setInterval(() => this.send({ type: 'ping', t: Date.now() }), PING_EVERY_MS)
  }

  private onControl(text: string): void {
    const m = parseServerMsg(text)
    if (!m) return
    switch (m.type) {
      case 'status':
        if (m.state === 'open') {
          this.phase = 'open'
          this.sessionId = m.session_id ?? ''
        } else if (m.state === 'credentials_required') {
          this.phase = 'credentials'
          this.h.credentials(m.username ?? '')
        }
        this.h.status(m)
        break
      case 'watermark':
        this.h.watermark(m)
        break
      case 'pong':
        if (typeof m.t === 'number') this.h.latency?.(Date.now() - m.t)
        break
      case 'error':
        if (m.fatal) this.final = m
        else this.h.notice(m)
        break
      case 'exit':
        this.final = m
        break
    }
  }

  private onClose(ev: CloseEvent): void {
    window.clearInterval(this.pinger)
    const beforeOpen = this.phase !== 'open'
    this.phase = 'closed'
    this.ws = null
    if (this.endedOnce) return
    this.endedOnce = true
    const f = this.final
    if (f && f.type === 'exit') {
      this.h.ended({ reason: f.reason, message: f.message, code: f.code, beforeOpen })
    } else if (f) {
      this.h.ended({ reason: f.code, message: f.message, beforeOpen })
    } else if (ev.code === 4401) {
      this.h.ended({ reason: 'unauthenticated', message: ev.reason, beforeOpen })
    } else if (ev.code === 4403) {
      this.h.ended({ reason: 'forbidden', message: ev.reason, beforeOpen })
    } else {
      this.h.ended({ reason: 'network_lost', message: ev.reason, beforeOpen })
    }
  }

  private send(msg: ClientMsg): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg))
  }

  /** Keystrokes, IME compositions and pastes; cut into 64 KiB frames. Dropped unless open. */
  input(data: string | Uint8Array): void {
    if (this.phase !== 'open' || !this.ws || this.ws.readyState !== WebSocket.OPEN) return
    const bytes = typeof data === 'string' ? this.encoder.encode(data) : data
    for (let i = 0; i < bytes.length; i += INPUT_CHUNK) this.ws.send(bytes.subarray(i, i + INPUT_CHUNK))
  }

  resize(cols: number, rows: number): void {
    if (cols < 1 || rows < 1) return
    this.params.cols = clamp(cols, 1, MAX_COLS)
    this.params.rows = clamp(rows, 1, MAX_ROWS)
    this.send({ type: 'resize', cols: this.params.cols, rows: this.params.rows })
  }

  sendCredentials(username: string, password: string): void {
    this.send({ type: 'credentials', username, password })
  }

  get isOpen(): boolean {
    return this.phase === 'open'
  }

  /** Leave: the gateway ends the session with `client_closed`. */
  close(): void {
    window.clearInterval(this.pinger)
    this.endedOnce = true
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000)
    this.ws = null
    this.phase = 'closed'
  }
}
