import { writeFileSync } from 'node:fs'
import { fileURLToPath, URL } from 'node:url'
import { defineConfig, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// The SPA lives in frontend/ and is built into the Python package (webgate/static),
// which the backend serves: index.html for every non-API GET, files under /assets/.
// The backend's CSP forbids inline scripts and eval: Vite emits external module
// scripts only, templates are precompiled, and vue-i18n compiles messages without eval.
const outDir = fileURLToPath(new URL('./webgate/static', import.meta.url))

// emptyOutDir wipes webgate/static; keep the tracked placeholder so the Python
// package always has the directory, built or not.
const keepPlaceholder: Plugin = {
  name: 'webgate-keep-gitkeep',
  apply: 'build',
  closeBundle() {
    writeFileSync(`${outDir}/.gitkeep`, '')
  },
}

const backend = process.env.WEBGATE_DEV_BACKEND ?? 'http://127.0.0.1:8731'

export default defineConfig({
  root: fileURLToPath(new URL('./frontend', import.meta.url)),
  base: '/',
  publicDir: false,
  plugins: [
    vue(),
    keepPlaceholder,
    Components({
      dirs: [],
      dts: fileURLToPath(new URL('./frontend/src/components.d.ts', import.meta.url)),
      resolvers: [ElementPlusResolver({ importStyle: 'css' })],
    }),
  ],
  resolve: {
    alias: [
      { find: '@', replacement: fileURLToPath(new URL('./frontend/src', import.meta.url)) },
      // element-plus/es/index.mjs builds the "install everything" plugin at module
      // level, which keeps all ~80 components in the bundle. Its components/index.mjs
      // has the same named exports without that, so unused components shake out.
      { find: /^element-plus(\/es)?$/, replacement: 'element-plus/es/components/index.mjs' },
    ],
  },
  define: {
    __VUE_OPTIONS_API__: 'true',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'true',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
    __INTLIFY_JIT_COMPILATION__: 'true',
    __INTLIFY_DROP_MESSAGE_COMPILER__: 'false',
  },
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2020',
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      output: {
        manualChunks(id) {
          if (id.includes('node_modules/element-plus') || id.includes('node_modules/@element-plus')) return 'element-plus'
          // Only remote-desktop tabs need it: its own chunk, fetched with the workspace.
          if (id.includes('node_modules/guacamole-common-js')) return 'guacamole'
          if (id.includes('node_modules/')) return 'vendor'
          return undefined
        },
      },
    },
  },
  server: {
    port: 5173,
    proxy: {
      '/api': { target: backend, ws: true, changeOrigin: false },
      '/healthz': { target: backend },
    },
  },
})
