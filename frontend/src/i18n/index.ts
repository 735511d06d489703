import { createI18n } from 'vue-i18n'
import { ref } from 'vue'
import en from './en'
import zhCN from './zh-CN'

export type Lang = 'en' | 'zh-CN'
export const LANGS: { value: Lang; label: string }[] = [
  { value: 'en', label: 'English' },
  { value: 'zh-CN', label: '简体中文' },
]
const KEY = 'webgate.lang'

function initial(): Lang {
  const saved = localStorage.getItem(KEY)
  if (saved === 'en' || saved === 'zh-CN') return saved
  return navigator.language?.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en'
}

export const i18n = createI18n({
  legacy: false,
  locale: initial(),
  fallbackLocale: 'en',
  messages: { en, 'zh-CN': zhCN },
  missingWarn: false,
  fallbackWarn: false,
})

export const currentLang = ref<Lang>(i18n.global.locale.value as Lang)

export function setLang(lang: Lang): void {
  i18n.global.locale.value = lang
  currentLang.value = lang
  localStorage.setItem(KEY, lang)
  document.documentElement.lang = lang
}

document.documentElement.lang = currentLang.value

export const t = (key: string, args?: Record<string, unknown>): string =>
  args ? i18n.global.t(key, args) : i18n.global.t(key)
