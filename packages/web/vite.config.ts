import { defineConfig, defaultClientConditions } from 'vite';
import react from '@vitejs/plugin-react';

const page = (name: string) => new URL(`./${name}.html`, import.meta.url).pathname;

/**
 * Pages served by every processor at /app/: index, wallet (PWA) and merchant POS; and the phone simulator,
 * which `semops demo` also serves with its SMS and USSD gateway (packages/cli/src/simulator).
 */
export default defineConfig({
  base: '/app/',
  plugins: [react()],
  // Workspace packages are compiled from their TypeScript source (the `source` export condition).
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: {
        index: page('index'),
        wallet: page('wallet'),
        pos: page('pos'),
        simulator: page('simulator'),
      },
    },
  },
});
