// asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header line,
// then one `[time, code, data]` event per line. The player uses `o` (output) and
// `r` (resize, "COLSxROWS"); `i` (input, only when the org records it) and `m`
// (markers) are kept for the activity strip but not written to the screen.

export interface CastHeader {
  version: number
  width: number
  height: number
  timestamp?: number
  title?: string
  idle_time_limit?: number
}

export interface CastEvent {
  /** Seconds since the start, as recorded. */
  t: number
  code: string
  data: string
}

export interface Cast {
  header: CastHeader
  events: CastEvent[]
  /** Lines that were not valid events (a cut-off last line of a live or damaged file). */
  skipped: number
}

export class CastError extends Error {}

export function parseCast(text: string): Cast {
  const lines = text.split('\n')
  let header: CastHeader | null = null
  const events: CastEvent[] = []
  let skipped = 0
  for (const raw of lines) {
    const line = raw.trim()
    if (!line) continue
    if (!header) {
      try {
        const h = JSON.parse(line) as Partial<CastHeader>
        if (!h || typeof h !== 'object' || Array.isArray(h) || h.version !== 2) throw new CastError('not asciicast v2')
        header = {
          ...h,
          version: 2,
          width: clampInt(h.width, 80, 1, 1000),
          height: clampInt(h.height, 24, 1, 500),
        } as CastHeader
      } catch (e) {
        throw e instanceof CastError ? e : new CastError('bad header')
      }
      continue
    }
    try {
      const ev = JSON.parse(line) as unknown
      if (Array.isArray(ev) && typeof ev[0] === 'number' && typeof ev[1] === 'string' && typeof ev[2] === 'string') {
        events.push({ t: Math.max(0, ev[0]), code: ev[1], data: ev[2] })
      } else skipped++
    } catch {
      skipped++
    }
  }
  if (!header) throw new CastError('empty')
  // Times should only grow; a file that goes back in time is played in file order.
  for (let i = 1; i < events.length; i++) if (events[i].t < events[i - 1].t) events[i].t = events[i - 1].t
  return { header, events, skipped }
}

function clampInt(v: unknown, dflt: number, lo: number, hi: number): number {
  const n = typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : dflt
  return Math.min(hi, Math.max(lo, n))
}

/**
 * The playback timeline: each event's time with pauses longer than `idleLimit`
 * seconds cut down to `idleLimit` (Infinity keeps the recorded times).
 */
export function timeline(events: CastEvent[], idleLimit: number): number[] {
  const out = new Array<number>(events.length)
  let prev = 0
  let acc = 0
  for (let i = 0; i < events.length; i++) {
    const gap = events[i].t - prev
    acc += Math.min(gap, idleLimit)
    prev = events[i].t
    out[i] = acc
  }
  return out
}

/** Output volume in `buckets` equal slices of the timeline (0..1), for the activity strip. */
export function activity(events: CastEvent[], times: number[], duration: number, buckets: number): number[] {
  const out = new Array<number>(buckets).fill(0)
  if (duration <= 0) return out
  events.forEach((e, i) => {
    if (e.code !== 'o' && e.code !== 'i') return
    const b = Math.min(buckets - 1, Math.floor((times[i] / duration) * buckets))
    out[b] += e.data.length
  })
  const max = Math.max(1, ...out)
  // Square root so that a little typing still shows next to a screenful of output.
  return out.map((v) => (v ? Math.max(0.08, Math.sqrt(v / max)) : 0))
}

/** "COLSxROWS" of a resize event. */
export function parseSize(data: string): { cols: number; rows: number } | null {
  const m = /^(\d{1,4})x(\d{1,4})$/.exec(data.trim())
  if (!m) return null
  const cols = Number(m[1])
  const rows = Number(m[2])
  if (cols < 1 || rows < 1 || cols > 1000 || rows > 500) return null
  return { cols, rows }
}
