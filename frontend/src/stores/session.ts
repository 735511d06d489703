// Who is logged in, in which org, with which permissions. Loaded from /auth/me.
import { computed, reactive } from 'vue'
import { api, ApiError, setCsrfToken } from '@/api/http'
import type { Id, Me } from '@/api/types'

interface SessionState {
  me: Me | null
  loaded: boolean
}

export const session = reactive<SessionState>({ me: null, loaded: false })

let inflight: Promise<Me | null> | null = null

/** Load /auth/me once (or again with force). Resolves null when not logged in. */
export function loadMe(force = false): Promise<Me | null> {
  if (session.loaded && !force) return Promise.resolve(session.me)
  if (inflight) return inflight
  inflight = api
    .get<Me>('/auth/me', undefined, { silent: true })
    .then((me) => {
      setMe(me)
      return me
    })
    .catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 401) {
        session.me = null
        session.loaded = true
        return null
      }
      throw e
    })
    .finally(() => {
      inflight = null
    })
  return inflight
}

export function setMe(me: Me | null): void {
  session.me = me
  session.loaded = true
  if (me?.csrf_token) setCsrfToken(me.csrf_token)
}

export function clearSession(): void {
  session.me = null
  session.loaded = true
}

export function isAuthenticated(): boolean {
  const me = session.me
  return !!me && (!me.stage || me.stage === 'done')
}

export function isSuperAdmin(): boolean {
  return !!session.me?.user.is_superadmin
}

/** True when the user holds the permission (super admins hold all of them). */
export function can(perm: string | string[] | undefined): boolean {
  if (!perm) return true
  const me = session.me
  if (!me) return false
  if (me.user.is_superadmin) return true
  const list = Array.isArray(perm) ? perm : [perm]
  return list.some((p) => me.permissions.includes(p))
}

export const currentOrgId = computed<Id | null>(() => session.me?.org?.id ?? null)

export async function switchOrg(orgId: Id): Promise<void> {
  const me = await api.post<Me>('/auth/switch-org', { org_id: orgId })
  if (me && typeof me === 'object' && 'user' in me) setMe(me)
  else await loadMe(true)
}

export async function logout(): Promise<void> {
  try {
    await api.post('/auth/logout', undefined, { silent: true })
  } finally {
    clearSession()
  }
}
