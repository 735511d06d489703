import type { Option } from '@/components/crud'

type T = (k: string) => string

export const SECRET_TYPES = ['password', 'ssh_key', 'token', 'kubeconfig']
export const secretTypeOptions = (t: T): Option[] => SECRET_TYPES.map((v) => ({ value: v, label: t(`accounts.types.${v}`) }))

export const PROTOCOLS = ['ssh', 'sftp', 'telnet', 'rdp', 'vnc', 'mysql', 'postgresql', 'redis', 'k8s', 'http', 'https']
export const ACTIONS = ['connect', 'upload', 'download', 'copy', 'paste', 'share']
export const actionOptions = (t: T): Option[] => ACTIONS.map((v) => ({ value: v, label: t(`permissions.actionNames.${v}`) }))
export const weekdayOptions = (t: T): Option[] => [0, 1, 2, 3, 4, 5, 6].map((d) => ({ value: d, label: t(`acl.weekdays.${d}`) }))
