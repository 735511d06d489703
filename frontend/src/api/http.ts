// The one place that talks HTTP to the backend. Every request is same-origin with
// the session cookie; every state-changing request carries X-CSRF-Token.

export interface ApiErrorBody {
  code: string
  message: string
  details?: Record<string, unknown>
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: Record<string, unknown>

  constructor(status: number, body: ApiErrorBody) {
    super(body.message)
    this.status = status
    this.code = body.code
    this.details = body.details ?? {}
  }

  /** Field-level validation errors (`details.fields`), flattened to strings. */
  get fields(): Record<string, string> {
    const f = this.details.fields
    const out: Record<string, string> = {}
    if (f && typeof f === 'object') {
      for (const [k, v] of Object.entries(f as Record<string, unknown>)) {
        out[k] = Array.isArray(v) ? v.map(String).join(' ') : String(v)
      }
    }
    if (this.code === 'conflict' && typeof this.details.field === 'string') {
      out[this.details.field] = this.message
    }
    return out
  }
}

export interface RequestOptions {
  params?: Record<string, unknown>
  body?: unknown
  /** Do not run the global 401/403/5xx handler (the caller shows the error itself). */
  silent?: boolean
  headers?: Record<string, string>
}

export interface Page<T> {
  items: T[]
  total: number
  page: number
  page_size: number
}

type Handler = (err: ApiError) => void

let csrfToken = ''
let globalHandler: Handler | null = null

export const API_PREFIX = '/api/v1'

export function setCsrfToken(token: string | undefined | null): void {
  if (token) csrfToken = token
}

export function setGlobalErrorHandler(h: Handler): void {
  globalHandler = h
}

function cookieCsrf(): string {
  const m = document.cookie.match(/(?:^|;\s*)webgate_csrf=([^;]*)/)
  return m ? decodeURIComponent(m[1]) : ''
}

function csrfHeader(): string {
  return csrfToken || cookieCsrf()
}

export function buildUrl(path: string, params?: Record<string, unknown>): string {
  const url = path.startsWith('/api/') ? path : API_PREFIX + path
  if (!params) return url
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue
    if (Array.isArray(v)) v.forEach((x) => q.append(k, String(x)))
    else q.append(k, String(v))
  }
  const s = q.toString()
  return s ? `${url}?${s}` : url
}

async function parseError(res: Response): Promise<ApiError> {
  let body: ApiErrorBody = { code: `http_${res.status}`, message: '' }
  try {
    const data = await res.json()
    if (data && typeof data === 'object' && data.error) body = data.error as ApiErrorBody
  } catch {
    /* not JSON: keep the generic body */
  }
  if (!body.message) body.message = res.statusText || `HTTP ${res.status}`
  return new ApiError(res.status, body)
}

function report(err: ApiError, silent?: boolean): ApiError {
  if (!silent && globalHandler) globalHandler(err)
  return err
}

export async function request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...(opts.headers ?? {}) }
  let body: BodyInit | undefined
  if (opts.body instanceof FormData) {
    body = opts.body
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const t = csrfHeader()
    if (t) headers['X-CSRF-Token'] = t
  }
  let res: Response
  try {
    res = await fetch(buildUrl(path, opts.params), { method, headers, body, credentials: 'same-origin' })
  } catch {
    throw report(new ApiError(0, { code: 'network_error', message: '' }), opts.silent)
  }
  if (!res.ok) throw report(await parseError(res), opts.silent)
  if (res.status === 204) return undefined as T
  const ct = res.headers.get('content-type') ?? ''
  if (!ct.includes('json')) return (await res.text()) as T
  const data = await res.json()
  if (data && typeof data === 'object' && 'csrf_token' in data) setCsrfToken((data as { csrf_token?: string }).csrf_token)
  return data as T
}

export const api = {
  get: <T = unknown>(path: string, params?: Record<string, unknown>, o: RequestOptions = {}) =>
    request<T>('GET', path, { ...o, params }),
  post: <T = unknown>(path: string, body?: unknown, o: RequestOptions = {}) => request<T>('POST', path, { ...o, body }),
  put: <T = unknown>(path: string, body?: unknown, o: RequestOptions = {}) => request<T>('PUT', path, { ...o, body }),
  patch: <T = unknown>(path: string, body?: unknown, o: RequestOptions = {}) => request<T>('PATCH', path, { ...o, body }),
  del: <T = unknown>(path: string, params?: Record<string, unknown>, o: RequestOptions = {}) =>
    request<T>('DELETE', path, { ...o, params }),
}

/** Fetch every page of a list (for pickers and client-side CSV export). */
export async function fetchAll<T>(path: string, params: Record<string, unknown> = {}, limit = 10000): Promise<T[]> {
  const out: T[] = []
  for (let page = 1; out.length < limit; page++) {
    const res = await api.get<Page<T> | T[]>(path, { ...params, page, page_size: 500 })
    if (Array.isArray(res)) return res
    out.push(...res.items)
    if (res.items.length === 0 || out.length >= res.total) break
  }
  return out
}

/** Multipart upload with progress (fetch has no upload progress; XHR does). */
export function upload<T>(path: string, file: File, onProgress: (pct: number) => void, field = 'file'): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', buildUrl(path))
    xhr.withCredentials = false // same-origin: cookies are sent anyway
    xhr.setRequestHeader('Accept', 'application/json')
    const t = csrfHeader()
    if (t) xhr.setRequestHeader('X-CSRF-Token', t)
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100))
    }
    xhr.onerror = () => reject(report(new ApiError(0, { code: 'network_error', message: '' })))
    xhr.onload = () => {
      let data: unknown = null
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null
      } catch {
        /* ignore */
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(100)
        resolve(data as T)
      } else {
        const body = (data as { error?: ApiErrorBody } | null)?.error ?? {
          code: `http_${xhr.status}`,
          message: xhr.statusText || `HTTP ${xhr.status}`,
        }
        reject(report(new ApiError(xhr.status, body)))
      }
    }
    const fd = new FormData()
    fd.append(field, file)
    xhr.send(fd)
  })
}

/** Download a server-generated file (export) through the session cookie. */
export async function downloadFile(path: string, params: Record<string, unknown>, fallbackName: string): Promise<void> {
  const res = await fetch(buildUrl(path, params), { credentials: 'same-origin' })
  if (!res.ok) throw report(await parseError(res))
  const blob = await res.blob()
  const cd = res.headers.get('content-disposition') ?? ''
  const m = cd.match(/filename\*?=(?:UTF-8'')?"?([^";]+)"?/i)
  saveBlob(blob, m ? decodeURIComponent(m[1]) : fallbackName)
}

export function saveBlob(blob: Blob, name: string): void {
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = name.replace(/[\\/]/g, '_')
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 1000)
}
