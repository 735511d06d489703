import { createApp } from 'vue'
import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import 'element-plus/es/components/message-box/style/css'
import 'element-plus/es/components/loading/style/css'
import App from './App.vue'
import { router } from './router'
import { i18n, t } from './i18n'
import { ApiError, setGlobalErrorHandler } from './api/http'
import { clearSession } from './stores/session'
import './styles.css'

// One policy for errors nobody handled locally: an expired session goes to the login
// page (and comes back), a refused action is a toast with the server's sentence.
setGlobalErrorHandler((err: ApiError) => {
  const route = router.currentRoute.value
  if (err.status === 401 && (err.code === 'unauthenticated' || err.code === 'mfa_required')) {
    clearSession()
    if (route.name !== 'login') {
      router.push({ name: 'login', query: route.fullPath === '/' ? {} : { next: route.fullPath } })
    }
    return
  }
  if (err.status === 422 || err.status === 409) return // forms show these under their fields
  let msg = err.message
  if (err.code === 'network_error') msg = t('errors.network')
  else if (err.status >= 500 && !msg) msg = t('errors.server')
  ElMessage({ type: 'error', message: msg || t('errors.unknown'), grouping: true, showClose: true })
})

// An ApiError has already been shown (toast, redirect or form field) by the time it
// reaches these handlers; only unexpected errors go to the console.
window.addEventListener('unhandledrejection', (e) => {
  if (e.reason instanceof ApiError) e.preventDefault()
})

const app = createApp(App)
app.config.errorHandler = (err) => {
  if (err instanceof ApiError) return
  console.error(err)
}
app.use(i18n).use(router).mount('#app')
