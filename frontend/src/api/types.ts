// Shapes from docs/api.md. Optional fields are the ones the contract leaves open.

export type Id = string | number

export interface OrgRef {
  id: Id
  name: string
}

export interface MeUser {
  id: Id
  username: string
  name: string
  email: string
  is_superadmin: boolean
  mfa_enabled: boolean
  mfa_required?: boolean
  language?: string | null
}

export interface Me {
  user: MeUser
  org: OrgRef | null
  orgs: OrgRef[]
  permissions: string[]
  csrf_token?: string
  stage?: string
}

export type LoginStage = 'done' | 'mfa' | 'mfa_enroll' | 'password_change'

export interface Protocol {
  name: string
  port?: number
}

export interface MyAccount {
  id: Id | null
  name: string
  username: string
  alias?: string
}

export interface MyAsset {
  id: Id
  name: string
  address: string
  platform: string
  protocols: Protocol[]
  accounts: MyAccount[]
  actions: string[]
  node_ids: Id[]
  labels: string[]
}

export interface NodeItem {
  id: Id
  name: string
  parent_id: Id | null
  asset_count?: number
  path?: string
}

export interface Dashboard {
  counts: {
    assets: number
    users: number
    sessions_today: number
    live_sessions: number
    failed_logins_today: number
  }
  sessions_per_day: { date: string; count: number }[]
  logins_per_day: { date: string; success: number; failure: number }[]
  top_assets: { name: string; count: number }[]
}
