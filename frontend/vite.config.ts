/// <reference types="vitest/config" />
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { defineConfig, type Plugin } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { svelteTesting } from '@testing-library/svelte/vite'

const outDir = 'dist'

// keepEmbedPlaceholder writes dist/.gitkeep back after vite has emptied and
// refilled dist/. The Go binary embeds frontend/dist (//go:embed
// all:frontend/dist in the repository root), and go:embed refuses a missing
// or empty directory, so the placeholder is tracked in Git: a fresh clone
// compiles, vets and tests without a frontend build. Writing it back here
// keeps `git status` clean after `npm run build`.
function keepEmbedPlaceholder(): Plugin {
  return {
    name: 'berth:keep-embed-placeholder',
    apply: 'build',
    writeBundle() {
      writeFileSync(
        resolve(outDir, '.gitkeep'),
        'Placeholder so that go:embed compiles before the frontend is built.\n',
      )
    },
  }
}

export default defineConfig({
  plugins: [svelte(), svelteTesting(), keepEmbedPlaceholder()],
  // Relative asset URLs: the same build is served by Wails' asset server
  // and by the web dashboard (app/web).
  base: './',
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    // The Svelte compiler is most of a build on a small machine; that is
    // expected, not worth a warning on every build.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['./src/test-setup.ts'],
  },
})
