// Builds the board web app into dist/, which board-gateway serves statically at "/".
// base './' keeps every asset URL relative, so the app also works behind a path prefix.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    // No sourcemaps in the build a trust deploys (they publish the source); PFM_WEB_SOURCEMAPS=1 for debugging.
    sourcemap: process.env.PFM_WEB_SOURCEMAPS === '1',
    chunkSizeWarningLimit: 200,
  },
  server: {
    // `pnpm dev` against a locally running gateway (default port overridable).
    proxy: {
      '/api': process.env.PFM_GATEWAY_URL ?? 'http://localhost:8080',
      '/socket.io': { target: process.env.PFM_GATEWAY_URL ?? 'http://localhost:8080', ws: true },
    },
  },
});
