// How a protocol is presented: the kind of window it opens and a short label.
export type ProtocolKind = 'terminal' | 'desktop' | 'files' | 'console' | 'app'

const KIND: Record<string, ProtocolKind> = {
  ssh: 'terminal',
  telnet: 'terminal',
  k8s: 'terminal',
  kubernetes: 'terminal',
  rdp: 'desktop',
  vnc: 'desktop',
  sftp: 'files',
  mysql: 'console',
  mariadb: 'console',
  postgresql: 'console',
  postgres: 'console',
  redis: 'console',
  remoteapp: 'app',
  http: 'app',
  https: 'app',
  web: 'app',
}

export function protocolKind(name: string): ProtocolKind {
  return KIND[name.toLowerCase()] ?? 'terminal'
}

export function protocolLabel(name: string): string {
  const n = name.toLowerCase()
  const special: Record<string, string> = { postgresql: 'PostgreSQL', mysql: 'MySQL', mariadb: 'MariaDB', redis: 'Redis', k8s: 'K8s', remoteapp: 'RemoteApp' }
  return special[n] ?? name.toUpperCase()
}

export interface PlatformStyle {
  color: string
  text: string
}

const PLATFORMS: Record<string, PlatformStyle> = {
  linux: { color: '#f59e0b', text: 'Lx' },
  unix: { color: '#a16207', text: 'Ux' },
  windows: { color: '#0ea5e9', text: 'Win' },
  macos: { color: '#64748b', text: 'Mac' },
  mysql: { color: '#0f766e', text: 'My' },
  mariadb: { color: '#7c2d12', text: 'Ma' },
  postgresql: { color: '#1d4ed8', text: 'Pg' },
  redis: { color: '#dc2626', text: 'Rd' },
  kubernetes: { color: '#2563eb', text: 'K8s' },
  k8s: { color: '#2563eb', text: 'K8s' },
  network: { color: '#7c3aed', text: 'Net' },
  website: { color: '#16a34a', text: 'Web' },
  remoteapp_host: { color: '#0369a1', text: 'App' },
  web: { color: '#16a34a', text: 'Web' },
}

export function platformStyle(platform: string): PlatformStyle {
  const p = (platform || '').toLowerCase()
  return PLATFORMS[p] ?? { color: '#6b7280', text: (platform || '?').slice(0, 3) }
}

export const DEFAULT_PORTS: Record<string, number> = {
  ssh: 22,
  sftp: 22,
  telnet: 23,
  rdp: 3389,
  vnc: 5900,
  mysql: 3306,
  postgresql: 5432,
  redis: 6379,
  k8s: 443,
  https: 443,
  http: 80,
}

/** The backend's platforms and the protocols an asset of each gets by default (webgate/assets/rules.py). */
export const PLATFORM_DEFAULTS: Record<string, { name: string; port: number }[]> = {
  linux: [{ name: 'ssh', port: 22 }, { name: 'sftp', port: 22 }],
  unix: [{ name: 'ssh', port: 22 }, { name: 'sftp', port: 22 }],
  windows: [{ name: 'rdp', port: 3389 }],
  network: [{ name: 'ssh', port: 22 }, { name: 'telnet', port: 23 }],
  mysql: [{ name: 'mysql', port: 3306 }],
  mariadb: [{ name: 'mysql', port: 3306 }],
  postgresql: [{ name: 'postgresql', port: 5432 }],
  redis: [{ name: 'redis', port: 6379 }],
  kubernetes: [{ name: 'k8s', port: 443 }],
  website: [{ name: 'https', port: 443 }],
  remoteapp_host: [{ name: 'rdp', port: 3389 }],
}
export const PLATFORM_NAMES = Object.keys(PLATFORM_DEFAULTS)
