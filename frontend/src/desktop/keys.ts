// X11 keysyms for the on-screen key bar: keys a browser cannot send itself (the OS or
// the browser takes Ctrl-Alt-Del, Alt-Tab, the Windows key, F11…) or a tablet lacks.

export const KEYSYM = {
  ctrl: 0xffe3, // Control_L
  alt: 0xffe9, // Alt_L
  shift: 0xffe1, // Shift_L
  win: 0xffeb, // Super_L
  esc: 0xff1b,
  tab: 0xff09,
  del: 0xffff,
  f1: 0xffbe, // F1..F12 are consecutive
} as const

/** Sticky keys: a click holds the key down, the next click lets it go (Win+R, Ctrl+click…). */
export const MODIFIERS = ['ctrl', 'alt', 'win'] as const
export type Modifier = (typeof MODIFIERS)[number]

export interface KeyButton {
  /** data-testid suffix and i18n-free label */
  id: string
  label: string
  /** Pressed in order, released in reverse. */
  keysyms: number[]
}

export const FUNCTION_KEYS: KeyButton[] = Array.from({ length: 12 }, (_, i) => ({
  id: `f${i + 1}`,
  label: `F${i + 1}`,
  keysyms: [KEYSYM.f1 + i],
}))

export const CTRL_ALT_DEL: KeyButton = { id: 'ctrl-alt-del', label: 'Ctrl+Alt+Del', keysyms: [KEYSYM.ctrl, KEYSYM.alt, KEYSYM.del] }

export const KEY_BAR: KeyButton[] = [
  { id: 'esc', label: 'Esc', keysyms: [KEYSYM.esc] },
  { id: 'tab', label: 'Tab', keysyms: [KEYSYM.tab] },
  { id: 'alt-tab', label: 'Alt+Tab', keysyms: [KEYSYM.alt, KEYSYM.tab] },
  CTRL_ALT_DEL,
  ...FUNCTION_KEYS,
]

/** Press a chord and release it in reverse order, the way a person would. */
export function sendChord(send: (pressed: 0 | 1, keysym: number) => void, keysyms: number[]): void {
  for (const k of keysyms) send(1, k)
  for (const k of [...keysyms].reverse()) send(0, k)
}
