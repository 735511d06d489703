// Why a remote desktop ended, in words a non-technical person understands.
// Guacamole status codes (guacd's and the gateway's) map to a short reason; the panel
// shows the reason's words (i18n `desktop.reason.<reason>`) and, under them, the
// gateway's own sentence when it sent one: it says more (which account, what to check).

export type DesktopReason =
  | 'wrong_password'
  | 'unreachable'
  | 'timeout'
  | 'busy'
  | 'in_use'
  | 'not_found'
  | 'ended_remote'
  | 'taken_over'
  | 'ended_by_admin'
  | 'forbidden'
  | 'login_expired'
  | 'bad_request'
  | 'network_lost'
  | 'disconnected'
  | 'server_error'

/** guacd 1.3.0 says 519 (UPSTREAM_NOT_FOUND) both for a refused VNC password and an unreachable host. */
const BY_CODE: Record<number, DesktopReason> = {
  0x0200: 'server_error', // 512 SERVER_ERROR
  0x0201: 'busy', // 513 SERVER_BUSY
  0x0202: 'timeout', // 514 UPSTREAM_TIMEOUT
  0x0203: 'unreachable', // 515 UPSTREAM_ERROR
  0x0204: 'not_found', // 516 RESOURCE_NOT_FOUND
  0x0205: 'in_use', // 517 RESOURCE_CONFLICT
  0x0206: 'ended_remote', // 518 RESOURCE_CLOSED
  0x0207: 'wrong_password', // 519 UPSTREAM_NOT_FOUND (guacd 1.3.0: refused login, or unreachable)
  0x0208: 'unreachable', // 520 UPSTREAM_UNAVAILABLE
  0x0209: 'taken_over', // 521 SESSION_CONFLICT
  0x020a: 'timeout', // 522 SESSION_TIMEOUT
  0x020b: 'ended_by_admin', // 523 SESSION_CLOSED (the gateway: killed, idle, max duration, revoked, shutdown)
  0x0300: 'bad_request', // 768 CLIENT_BAD_REQUEST
  0x0301: 'wrong_password', // 769 CLIENT_UNAUTHORIZED
  0x0303: 'forbidden', // 771 CLIENT_FORBIDDEN
  0x0308: 'network_lost', // 776 CLIENT_TIMEOUT
  0x030d: 'bad_request', // 781 CLIENT_OVERRUN
  0x030f: 'bad_request', // 783 CLIENT_BAD_TYPE
  0x031d: 'busy', // 797 CLIENT_TOO_MANY
}

/** The gateway answers 769 also when the browser's own login expired; its sentence says which. */
const LOGIN_EXPIRED = /log ?in again|login has expired/i

export function reasonFor(code: number | null | undefined, message = ''): DesktopReason {
  if (code == null) return 'network_lost'
  if (code === 0x0301 && LOGIN_EXPIRED.test(message)) return 'login_expired'
  return BY_CODE[code] ?? 'server_error'
}

/** Reasons after which trying again at once is pointless until someone changes something. */
export function isPermanent(reason: DesktopReason): boolean {
  return reason === 'forbidden' || reason === 'login_expired'
}
