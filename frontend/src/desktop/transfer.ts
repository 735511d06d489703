// Clipboard and file streams of a remote desktop. The gateway lets them through only
// when the permission grants them (copy/paste/upload/download); the panel hides what is
// not granted, so a refused stream here means the grant changed mid-session.
import Guacamole from 'guacamole-common-js'

/** guacd keeps at most 256 KiB of clipboard text (GUAC_COMMON_CLIPBOARD_MAX_LENGTH). */
export const CLIPBOARD_MAX = 256 * 1024

const OK = 0x0000

export function sendClipboard(client: Guacamole.Client, text: string): void {
  const writer = new Guacamole.StringWriter(client.createClipboardStream('text/plain'))
  writer.sendText(text)
  writer.sendEnd()
}

/** Reads one clipboard stream from the remote side; non-text data is ignored. */
export function readClipboard(stream: Guacamole.InputStream, mimetype: string, done: (text: string) => void): void {
  if (!mimetype.startsWith('text/')) return
  const reader = new Guacamole.StringReader(stream)
  let text = ''
  reader.ontext = (chunk) => {
    text += chunk
  }
  reader.onend = () => done(text)
}

export interface Transfer {
  id: number
  name: string
  direction: 'up' | 'down'
  /** bytes; 0 when unknown (downloads do not announce their size) */
  size: number
  done: number
  state: 'waiting' | 'running' | 'done' | 'failed'
  error: string
  /** downloads: an object URL to save the file again */
  url: string
}

let seq = 0

export function newTransfer(name: string, direction: Transfer['direction'], size = 0): Transfer {
  return { id: ++seq, name, direction, size, done: 0, state: 'waiting', error: '', url: '' }
}

/**
 * Upload a file to the remote drive: into `folder` through its filesystem object (`put`)
 * when guacd announced one, otherwise as a plain `file` stream (guacd puts it in the root).
 * `t` is mutated as the upload goes (pass a reactive object).
 */
export function upload(client: Guacamole.Client, fs: Guacamole.Object | null, file: File, t: Transfer, folder = '/'): void {
  const mimetype = file.type || 'application/octet-stream'
  const path = `${folder.replace(/\/+$/, '')}/${file.name}`
  const stream = fs ? fs.createOutputStream(mimetype, path) : client.createFileStream(mimetype, file.name)
  const writer = new Guacamole.BlobWriter(stream)
  const fail = (message: string) => {
    if (t.state === 'done' || t.state === 'failed') return
    t.state = 'failed'
    t.error = message
  }
  // Start only when the remote side accepted the stream.
  writer.onack = (status) => {
    if (status.isError()) {
      fail(status.message || `status ${status.code}`)
      return
    }
    writer.onack = (s) => {
      if (s.isError()) fail(s.message || `status ${s.code}`)
    }
    t.state = 'running'
    writer.sendBlob(file)
  }
  writer.onprogress = (_blob, offset) => {
    t.done = Math.min(t.size, offset)
  }
  writer.oncomplete = () => {
    writer.sendEnd()
    t.done = t.size
    if (t.state !== 'failed') t.state = 'done'
  }
  writer.onerror = (_blob, _offset, error) => fail(error?.message ?? 'read error')
}

/** Receive a file guacd offers (RDP: a file put into the drive's Download folder). */
export function download(stream: Guacamole.InputStream, mimetype: string, t: Transfer, save: (url: string, name: string) => void): void {
  const reader = new Guacamole.BlobReader(stream, mimetype)
  t.state = 'running'
  stream.sendAck('Ready', OK)
  reader.onprogress = (length) => {
    t.done += length
    stream.sendAck('Received', OK)
  }
  reader.onend = () => {
    t.url = URL.createObjectURL(reader.getBlob())
    t.size = t.done
    t.state = 'done'
    save(t.url, t.name)
  }
}

export interface DriveEntry {
  /** full path on the drive, e.g. `/reports/q3.xlsx` */
  path: string
  name: string
  dir: boolean
}

/** One folder of the shared drive (guacd answers `get` with a JSON index: path → mimetype). */
export function listDirectory(fs: Guacamole.Object, path: string, done: (entries: DriveEntry[] | null) => void): void {
  fs.requestInputStream(path, (stream, mimetype) => {
    if (mimetype !== Guacamole.Object.STREAM_INDEX_MIMETYPE) {
      stream.sendAck('Unexpected mimetype', 0x0100)
      done(null)
      return
    }
    stream.sendAck('Ready', OK)
    const reader = new Guacamole.JSONReader(stream)
    reader.onprogress = () => stream.sendAck('Received', OK)
    reader.onend = () => {
      const index = reader.getJSON() as Record<string, string>
      const entries = Object.entries(index)
        .filter(([p]) => p.startsWith('/'))
        .map(([p, type]) => ({ path: p, name: p.slice(p.lastIndexOf('/') + 1), dir: type === Guacamole.Object.STREAM_INDEX_MIMETYPE }))
      entries.sort((a, b) => Number(b.dir) - Number(a.dir) || a.name.localeCompare(b.name))
      done(entries)
    }
  })
}

/** Download one file of the shared drive by its path (`get`), with progress. */
export function downloadPath(fs: Guacamole.Object, path: string, t: Transfer, save: (url: string, name: string) => void): void {
  t.state = 'running'
  fs.requestInputStream(path, (stream, mimetype) => download(stream, mimetype, t, save))
}

/** Refuse a stream guacd offered (a download that is not permitted). */
export function refuse(stream: Guacamole.InputStream): void {
  stream.sendAck('Not permitted', 0x0303)
}

/** Save an object URL as a file with the browser's own download. */
export function saveAs(url: string, name: string): void {
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.rel = 'noopener'
  document.body.appendChild(a)
  a.click()
  a.remove()
}
