// What the browser tests share: where the binary and chromium are, starting
// the real binary in web mode, launching chromium, free ports, and removing
// an environment's objects by label with the docker CLI.
import { spawn, execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const bin = process.env.BERTH_BIN ?? join(repoRoot, 'build/bin/berth')
export const shots = join(repoRoot, 'build/artifacts/playwright')
const browserPath = process.env.BERTH_CHROMIUM ?? '/usr/bin/chromium'

/** docker runs the docker CLI and returns its trimmed output. */
export const docker = (...args) => execFileSync('docker', args, { encoding: 'utf8' }).trim()

/** freePort resolves with a TCP port free on loopback. */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer()
    s.unref()
    s.on('error', fail)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => ok(port))
    })
  })
}

/**
 * cleanup removes every container, network and volume of an environment,
 * and the images built for it (tagged <name>-<service>).
 */
export function cleanup(name) {
  const filter = `label=com.docker.compose.project=${name}`
  const ids = docker('ps', '-aq', '--filter', filter).split('\n').filter(Boolean)
  if (ids.length) docker('rm', '-f', '-v', ...ids)
  for (const kind of ['network', 'volume']) {
    const objs = docker(kind, 'ls', '-q', '--filter', filter).split('\n').filter(Boolean)
    if (objs.length) docker(kind, 'rm', ...objs)
  }
  const images = docker('images', '-q', '--filter', `reference=${name}-*`).split('\n').filter(Boolean)
  if (images.length) docker('rmi', '-f', ...new Set(images))
}

/** startServer starts `berth ui --web` with args and resolves url with its dashboard URL. */
export function startServer(env, args) {
  const proc = spawn(bin, ['ui', '--web', '--addr', '127.0.0.1:0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const url = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no URL printed in 20 s:\n${out}`)), 20000)
    const read = (d) => {
      out += d
      const m = out.match(/Berth dashboard: (https?:\/\/\S+)/)
      if (m) {
        clearTimeout(timer)
        ok(m[1])
      }
    }
    proc.stdout.on('data', read)
    proc.stderr.on('data', read)
    proc.on('exit', (code) => fail(new Error(`berth exited with ${code}:\n${out}`)))
  })
  return { proc, url, output: () => out }
}

/**
 * listen starts an HTTP server on a free loopback port that records each
 * request's headers: a stand-in for an environment's container, which
 * shares 127.0.0.1 with the dashboard.
 */
export function listen() {
  const seen = []
  const srv = createHttpServer((req, res) => {
    seen.push(req.headers)
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.end('a container\n')
  })
  return new Promise((ok, fail) => {
    srv.on('error', fail)
    srv.listen(0, '127.0.0.1', () => ok({ url: `http://127.0.0.1:${srv.address().port}/`, seen, close: () => srv.close() }))
  })
}

/** launch starts headless chromium with a fresh profile in dir. */
export function launch(dir, viewport) {
  return chromium.launchPersistentContext(dir, {
    executablePath: browserPath,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  })
}

/**
 * newEnvironment makes environment `name` from `definition` through the New
 * environment dialog (trusting the definition when the app asks, its plan
 * shown, then confirmed), waits until the list says it runs and selects it.
 */
export async function newEnvironment(page, definition, name, timeout = 120000) {
  await page.getByTestId('new-env').click()
  await page.getByTestId('new-env-definition').selectOption(definition)
  await page.getByTestId('new-env-name').fill(name)
  await page.getByTestId('new-env-plan').click()
  await trustIfAsked(page)
  await page.getByTestId('plan-confirm').click()
  await page.getByTestId(`env-state-${name}`).locator('[data-state="running"]').waitFor({ timeout })
  await page.getByTestId(`env-${name}`).click()
}

/**
 * trustIfAsked waits for the next dialog: the trust review (granted here)
 * or the plan, whichever the app shows first.
 */
export async function trustIfAsked(page) {
  const trust = page.getByTestId('trust-dialog')
  await Promise.race([trust.waitFor(), page.getByTestId('plan-dialog').waitFor()])
  if (await trust.isVisible()) {
    await page.getByTestId('trust-grant').click()
    await page.getByTestId('plan-dialog').waitFor()
  }
}

/** reportFailure keeps a screenshot of the failing page and prints what the server said. */
export async function reportFailure(browser, server, shot) {
  const page = browser?.pages()[0]
  if (page) await shot(page, 'failed').catch(() => {})
  console.error(server.output())
}

/**
 * finish ends a browser test: closes the browser, stops the server, removes
 * the environment's objects on the engine (cleanup, then extra when given)
 * and the test's temporary folder. A failed clean-up is printed, not thrown.
 */
export async function finish({ browser, server, name, tmp, extra }) {
  await browser?.close().catch(() => {})
  server.proc.kill('SIGTERM')
  try {
    cleanup(name)
    extra?.()
  } catch (e) {
    console.error('cleanup:', e.message)
  }
  rmSync(tmp, { recursive: true, force: true })
}

/** probe is the small test image the tests' definitions run (scripts/images.sh builds it). */
export const probe = 'berth-test/probe:latest'

/**
 * gitIn returns a function that runs git in dir with a fixed identity and
 * no user or system configuration, returning its trimmed output.
 */
export function gitIn(dir) {
  const env = {
    ...process.env,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Ada',
    GIT_AUTHOR_EMAIL: 'ada@example.com',
    GIT_COMMITTER_NAME: 'Ada',
    GIT_COMMITTER_EMAIL: 'ada@example.com',
  }
  return (...args) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' }).trim()
}
