// Font size and theme of terminals, chosen by the user and remembered in localStorage.
import { reactive, watch } from 'vue'
import type { ITheme } from '@xterm/xterm'
import { readJSON, writeJSON } from '@/utils/storage'

const KEY = 'webgate.terminal'
export const FONT_MIN = 10
export const FONT_MAX = 28

export const THEMES: Record<string, ITheme> = {
  dark: {
    background: '#0b1020',
    foreground: '#e5e7eb',
    cursor: '#60a5fa',
    selectionBackground: '#334155',
    black: '#1f2937', red: '#f87171', green: '#4ade80', yellow: '#facc15',
    blue: '#60a5fa', magenta: '#c084fc', cyan: '#22d3ee', white: '#e5e7eb',
    brightBlack: '#6b7280', brightRed: '#fca5a5', brightGreen: '#86efac', brightYellow: '#fde047',
    brightBlue: '#93c5fd', brightMagenta: '#d8b4fe', brightCyan: '#67e8f9', brightWhite: '#ffffff',
  },
  light: {
    background: '#fbfbfd',
    foreground: '#1f2937',
    cursor: '#2563eb',
    cursorAccent: '#ffffff',
    selectionBackground: '#bfdbfe',
    black: '#1f2937', red: '#b91c1c', green: '#15803d', yellow: '#a16207',
    blue: '#1d4ed8', magenta: '#7e22ce', cyan: '#0e7490', white: '#d1d5db',
    brightBlack: '#6b7280', brightRed: '#dc2626', brightGreen: '#16a34a', brightYellow: '#ca8a04',
    brightBlue: '#2563eb', brightMagenta: '#9333ea', brightCyan: '#0891b2', brightWhite: '#f9fafb',
  },
  solarized: {
    background: '#002b36',
    foreground: '#93a1a1',
    cursor: '#93a1a1',
    selectionBackground: '#073642',
    black: '#073642', red: '#dc322f', green: '#859900', yellow: '#b58900',
    blue: '#268bd2', magenta: '#d33682', cyan: '#2aa198', white: '#eee8d5',
    brightBlack: '#586e75', brightRed: '#cb4b16', brightGreen: '#93a1a1', brightYellow: '#839496',
    brightBlue: '#839496', brightMagenta: '#6c71c4', brightCyan: '#93a1a1', brightWhite: '#fdf6e3',
  },
  dracula: {
    background: '#282a36',
    foreground: '#f8f8f2',
    cursor: '#f8f8f2',
    selectionBackground: '#44475a',
    black: '#21222c', red: '#ff5555', green: '#50fa7b', yellow: '#f1fa8c',
    blue: '#bd93f9', magenta: '#ff79c6', cyan: '#8be9fd', white: '#f8f8f2',
    brightBlack: '#6272a4', brightRed: '#ff6e6e', brightGreen: '#69ff94', brightYellow: '#ffffa5',
    brightBlue: '#d6acff', brightMagenta: '#ff92df', brightCyan: '#a4ffff', brightWhite: '#ffffff',
  },
}

export interface TerminalPrefs {
  fontSize: number
  theme: string
}

function load(): TerminalPrefs {
  const raw = readJSON<Partial<TerminalPrefs>>(KEY, {})
  const fontSize = Number(raw.fontSize)
  return {
    fontSize: Number.isFinite(fontSize) ? Math.min(FONT_MAX, Math.max(FONT_MIN, Math.round(fontSize))) : 14,
    theme: typeof raw.theme === 'string' && raw.theme in THEMES ? raw.theme : 'dark',
  }
}

/** Shared by every terminal tab: changing it in one restyles all. */
export const terminalPrefs = reactive<TerminalPrefs>(load())
watch(terminalPrefs, (p) => writeJSON(KEY, { fontSize: p.fontSize, theme: p.theme }))
