import { fetchAll, saveBlob } from '@/api/http'
import { toCsv } from './format'

/** Export the rows matching the current filter (all pages) as CSV, in the browser. */
export async function exportCsv(path: string, params: Record<string, unknown>, cols: { key: string; label: string }[], name: string) {
  const rows = await fetchAll<Record<string, unknown>>(path, params, 50000)
  const csv = toCsv(
    cols.map((c) => c.label),
    rows.map((r) => cols.map((c) => r[c.key])),
  )
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')
  saveBlob(new Blob([csv], { type: 'text/csv;charset=utf-8' }), `${name}-${stamp}.csv`)
  return rows.length
}
