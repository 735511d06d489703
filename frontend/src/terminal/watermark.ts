// Watermark overlay: the text tiled and rotated in a canvas-made background image,
// on a layer that ignores the pointer and cannot be selected. A MutationObserver puts
// it back if it is removed or its style/class is changed (devtools), and the tile is
// re-drawn for the current theme.

const TILE_W = 320
const TILE_H = 200

export function watermarkImage(text: string, color: string): string {
  const ratio = Math.max(1, Math.min(3, window.devicePixelRatio || 1))
  const canvas = document.createElement('canvas')
  canvas.width = TILE_W * ratio
  canvas.height = TILE_H * ratio
  const ctx = canvas.getContext('2d')
  if (!ctx) return ''
  ctx.scale(ratio, ratio)
  ctx.translate(TILE_W / 2, TILE_H / 2)
  ctx.rotate((-22 * Math.PI) / 180)
  ctx.fillStyle = color
  ctx.font = '14px system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif'
  ctx.textAlign = 'center'
  ctx.textBaseline = 'middle'
  const lines = text.split('\n').slice(0, 4)
  lines.forEach((line, i) => ctx.fillText(line, 0, (i - (lines.length - 1) / 2) * 20, TILE_W - 20))
  return canvas.toDataURL('image/png')
}

const STYLE: Record<string, string> = {
  position: 'absolute',
  inset: '0',
  'z-index': '20',
  'pointer-events': 'none',
  'user-select': 'none',
  '-webkit-user-select': 'none',
  'background-repeat': 'repeat',
  'background-position': '0 0',
  display: 'block',
  visibility: 'visible',
  opacity: '1',
  transform: 'none',
  'clip-path': 'none',
  filter: 'none',
}

export class Watermark {
  private layer: HTMLDivElement | null = null
  private observer: MutationObserver | null = null
  private image = ''

  constructor(private host: HTMLElement) {}

  /** Show `text` (null hides it). `color` should be faint against the terminal background. */
  set(text: string | null, color: string): void {
    if (!text) {
      this.clear()
      return
    }
    this.image = watermarkImage(text, color)
    this.apply()
    this.watch()
  }

  private apply(): void {
    if (!this.layer || !this.host.contains(this.layer)) {
      this.layer?.remove()
      this.layer = document.createElement('div')
      this.host.appendChild(this.layer)
      this.observer?.observe(this.layer, { attributes: true })
    }
    const el = this.layer
    el.className = 'wg-watermark'
    el.setAttribute('data-testid', 'watermark')
    el.setAttribute('aria-hidden', 'true')
    el.removeAttribute('hidden')
    el.textContent = ''
    el.style.cssText = ''
    for (const [k, v] of Object.entries(STYLE)) el.style.setProperty(k, v, 'important')
    el.style.setProperty('background-image', `url("${this.image}")`, 'important')
    // Our own writes are not tampering.
    this.observer?.takeRecords()
  }

  private watch(): void {
    if (this.observer) return
    this.observer = new MutationObserver((records) => {
      if (!this.image) return
      const touched = records.some(
        (r) =>
          (r.type === 'childList' && [...r.removedNodes].some((n) => n === this.layer)) ||
          (r.type === 'attributes' && r.target === this.layer),
      )
      if (touched || !this.layer || !this.host.contains(this.layer)) this.apply()
    })
    this.observer.observe(this.host, { childList: true })
    if (this.layer) this.observer.observe(this.layer, { attributes: true })
  }

  clear(): void {
    this.observer?.disconnect()
    this.observer = null
    this.image = ''
    this.layer?.remove()
    this.layer = null
  }
}
