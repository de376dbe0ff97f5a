import { ApiError, type BerthAPI } from './client'
import { CHANGE_EVENT, EVENT_NAME, LOG_EVENT, type TrustReview, type AdoptResult, type BerthEvent, type Change, type DBInfo, type DBResult, type DriftReport, type FileChange, type HealingPause, type WatchState, type SyncResult, type Deployment, type DeployPlan, type DeployResult, type Environment, type Listing, type LogBatch, type Result, type RevisionEntry, type SecretListing, type SecretSet, type Preflight, type OpenedRepo, type Shell, type SettingsView } from './types'

/** The subset of EventSource the transport uses (so tests can fake it). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void
  close(): void
}

export interface HttpOptions {
  /** Where the API lives; '' means the page's own origin. */
  base?: string
  /**
   * The dashboard's access token (see pageToken): it goes out as
   * "Authorization: Bearer" with every call, and buys the tickets that
   * open the event stream. The server sets no cookie.
   */
  token?: string
  fetch?: typeof fetch
  eventSource?: (url: string) => EventSourceLike
  /** Timers for reopening the event stream (tests use fakes). */
  setTimeout?: (f: () => void, ms: number) => unknown
  clearTimeout?: (id: unknown) => void
}

/** The parts of the page's window pageToken uses. */
export interface TokenWindow {
  location: { hash: string; pathname: string; search: string }
  history: { replaceState(data: unknown, unused: string, url: string): void; state?: unknown }
  sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void }
}

/** Where the page keeps the token: the tab's sessionStorage. */
export const TOKEN_KEY = 'berth.token'

/**
 * pageToken returns the dashboard's access token. `berth ui --web` prints
 * a URL with it in the fragment (#token=...), which the browser never
 * sends to any server. The first load takes it from there into the tab's
 * sessionStorage (kept per scheme, host and port, so no container serving
 * on another port of 127.0.0.1 can read it, unlike a cookie) and removes
 * it from the address bar and the history entry; a reload finds it in
 * sessionStorage. Without either there is none, and the API answers 401
 * saying where to find it.
 */
export function pageToken(win: TokenWindow): string | undefined {
  const hash = new URLSearchParams(win.location.hash.replace(/^#/, ''))
  const fromURL = hash.get('token')
  if (fromURL) {
    try {
      win.sessionStorage.setItem(TOKEN_KEY, fromURL)
    } catch {
      // storage refused (private mode quotas): the token lives in memory only
    }
    hash.delete('token')
    const rest = hash.toString()
    win.history.replaceState(win.history.state ?? null, '', win.location.pathname + win.location.search + (rest ? `#${rest}` : ''))
    return fromURL
  }
  try {
    return win.sessionStorage.getItem(TOKEN_KEY) ?? undefined
  } catch {
    return undefined
  }
}

/** How long the event stream waits before it reopens: 1 s, doubling to 15 s. */
export const STREAM_RETRY_FIRST = 1000
export const STREAM_RETRY_MAX = 15000

/**
 * httpTransport talks to app/web: JSON over /api/... and server-sent
 * events from /api/events. A non-2xx answer rejects with an ApiError
 * carrying the server's {"error": "..."} message and the status.
 */
export function httpTransport(opts: HttpOptions = {}): BerthAPI {
  const base = (opts.base ?? '').replace(/\/$/, '')
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init))
  const openEvents = opts.eventSource ?? ((url: string) => new EventSource(url))
  const later = opts.setTimeout ?? ((f: () => void, ms: number) => setTimeout(f, ms))
  const cancelLater = opts.clearTimeout ?? ((id: unknown) => clearTimeout(id as ReturnType<typeof setTimeout>))

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' }
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    let res: Response
    try {
      res = await doFetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
      })
    } catch (e) {
      throw new ApiError(`cannot reach Berth: ${e instanceof Error ? e.message : String(e)}`)
    }
    const text = await res.text()
    if (!res.ok) {
      let message = text.trim() || res.statusText
      let trust: TrustReview | undefined
      try {
        const parsed = JSON.parse(text) as { error?: string; trust?: TrustReview }
        if (parsed.error) message = parsed.error
        trust = parsed.trust
      } catch {
        // not JSON: keep the text
      }
      throw new ApiError(message, res.status, trust)
    }
    return JSON.parse(text) as T
  }

  const env = (name: string) => `/api/environments/${encodeURIComponent(name)}`

  // One event stream carries every kind; it opens with the first
  // subscriber and closes with the last. EventSource cannot send headers,
  // so with a token each opening first buys a ticket (one use, 30 s) with
  // it. A ticket cannot serve the browser's own reconnection, so on an
  // error the stream is closed and opened again here, with a new ticket,
  // after a back-off (1 s doubling to 15 s, back to 1 s once open).
  const handlers = new Map<string, Set<(data: unknown) => void>>()
  let source: EventSourceLike | null = null
  let opening = false
  let retry: unknown = null
  let delay = STREAM_RETRY_FIRST
  const wanted = () => [...handlers.values()].some((s) => s.size > 0)

  function reopenLater() {
    if (retry !== null || !wanted()) return
    retry = later(() => {
      retry = null
      void open()
    }, delay)
    delay = Math.min(delay * 2, STREAM_RETRY_MAX)
  }

  async function open() {
    if (source || opening || !wanted()) return
    opening = true
    let url = base + '/api/events'
    try {
      if (opts.token) {
        const { ticket } = await request<{ ticket: string }>('POST', '/api/events/ticket')
        url += `?ticket=${encodeURIComponent(ticket)}`
      }
    } catch {
      opening = false
      reopenLater()
      return
    }
    opening = false
    if (source || !wanted()) return
    const s = openEvents(url)
    source = s
    s.addEventListener('open', () => {
      delay = STREAM_RETRY_FIRST
    })
    s.addEventListener('error', () => {
      if (source !== s) return
      s.close()
      source = null
      reopenLater()
    })
    for (const n of [EVENT_NAME, CHANGE_EVENT, LOG_EVENT]) {
      s.addEventListener(n, (msg) => {
        let data: unknown
        try {
          data = JSON.parse(msg.data)
        } catch {
          return // a malformed event is dropped, the stream goes on
        }
        handlers.get(n)?.forEach((h) => h(data))
      })
    }
  }

  function listen(name: string, handler: (data: unknown) => void): () => void {
    if (!handlers.has(name)) handlers.set(name, new Set())
    handlers.get(name)!.add(handler)
    void open()
    return () => {
      handlers.get(name)?.delete(handler)
      if (!wanted()) {
        source?.close()
        source = null
        if (retry !== null) cancelLater(retry)
        retry = null
        delay = STREAM_RETRY_FIRST
      }
    }
  }

  const svc = (e: string, s: string) => `${env(e)}/services/${encodeURIComponent(s)}`
  return {
    transport: 'http',
    listEnvironments: () => request<Listing>('GET', '/api/environments'),
    status: (name) => request<Environment>('GET', env(name)),
    plan: (definition, as = '', variant = '') => request<Result>('POST', '/api/plan', { definition, as, variant }),
    up: (name, definition, variant = '') => request<Result>('POST', `${env(name)}/up`, definition ? { definition, variant } : undefined),
    setSecret: (owner, name, value, environment = false) => request<SecretSet>('POST', '/api/secrets/set', { owner, name, value, environment }),
    removeSecret: (owner, name, environment = false) => request<boolean>('POST', '/api/secrets/remove', { owner, name, environment }),
    preflight: (definition, variant = '') =>
      request<Preflight>('GET', `/api/preflight?definition=${encodeURIComponent(definition)}${variant ? `&variant=${encodeURIComponent(variant)}` : ''}`),
    openRepository: (where) => request<OpenedRepo>('POST', '/api/open', { where }),
    listSecrets: (owner = '') => request<SecretListing>('GET', `/api/secrets${owner ? `?owner=${encodeURIComponent(owner)}` : ''}`),
    openShell: (name, service) => request<Shell>('POST', `${env(name)}/shell`, { service }),
    planDown: (name, volumes = false) => request<Result>('POST', `${env(name)}/plan-down`, { volumes }),
    down: (name, volumes = false) => request<Result>('POST', `${env(name)}/down`, { volumes }),
    planRecreate: (name, service) => request<Result>('POST', `${svc(name, service)}/plan-recreate`),
    recreate: (name, service) => request<Result>('POST', `${svc(name, service)}/recreate`),
    revisions: (name) => request<RevisionEntry[]>('GET', `${env(name)}/revisions`),
    planDeploy: (name, rev, definition = '') => request<DeployPlan>('POST', `${env(name)}/plan-deploy`, { rev, definition }),
    deploy: (name, rev, definition = '') => request<DeployResult>('POST', `${env(name)}/deploy`, { rev, definition }),
    planRollback: (name, to = '') => request<DeployPlan>('POST', `${env(name)}/plan-rollback`, { to }),
    rollback: (name, to = '') => request<DeployResult>('POST', `${env(name)}/rollback`, { to }),
    history: (name, filter = {}) => {
      const q = new URLSearchParams()
      for (const k of filter.kinds ?? []) q.append('kind', k)
      if (filter.status) q.set('status', filter.status)
      if (filter.limit) q.set('limit', String(filter.limit))
      const qs = q.toString()
      return request<Deployment[]>('GET', `${env(name)}/history${qs ? `?${qs}` : ''}`)
    },
    databases: (name) => request<DBInfo[]>('GET', `${env(name)}/databases`),
    dbClone: (name, service = '', from = '') => request<DBResult>('POST', `${env(name)}/databases/clone`, { service, from }),
    dbSnapshot: (name, service = '', snap = '') => request<DBResult>('POST', `${env(name)}/databases/snapshot`, { service, name: snap }),
    dbRestore: (name, snapshot) => request<DBResult>('POST', `${env(name)}/snapshots/${encodeURIComponent(snapshot)}/restore`),
    dbReset: (name, service = '') => request<DBResult>('POST', `${env(name)}/databases/reset`, { service }),
    dbRemove: async (name, snapshot) => {
      await request('DELETE', `${env(name)}/snapshots/${encodeURIComponent(snapshot)}`)
    },
    check: (name) => request<DriftReport>('GET', `${env(name)}/drift`),
    driftReports: () => request<DriftReport[]>('GET', '/api/drift'),
    planSync: (name) => request<SyncResult>('POST', `${env(name)}/plan-sync`),
    sync: (name) => request<SyncResult>('POST', `${env(name)}/sync`),
    discard: (name) => request<FileChange[]>('POST', `${env(name)}/discard`),
    adopt: (name, branch = '') => request<AdoptResult>('POST', `${env(name)}/adopt`, { branch }),
    pauseHealing: (name, minutes) => request<HealingPause>('PUT', `${env(name)}/healing`, { pauseMinutes: minutes }),
    healingPaused: (name) => request<HealingPause>('GET', `${env(name)}/healing`),
    setWatch: (name, on) => request<WatchState>('PUT', `${env(name)}/watch`, { watching: on }),
    watchStatus: (name) => request<WatchState>('GET', `${env(name)}/watch`),
    subscribeLogs: async (req) => (await request<{ id: string }>('POST', '/api/logs', req)).id,
    unsubscribeLogs: async (id) => {
      await request('DELETE', `/api/logs/${encodeURIComponent(id)}`)
    },
    reviewTrust: (definition, rev = '') =>
      request<TrustReview>('GET', `/api/definitions/${encodeURIComponent(definition)}/trust${rev ? `?rev=${encodeURIComponent(rev)}` : ''}`),
    trust: (definition, rev, digest) => request<TrustReview>('POST', `/api/definitions/${encodeURIComponent(definition)}/trust`, { rev, digest }),
    revokeTrust: async (definition, rev = '') => {
      await request('DELETE', `/api/definitions/${encodeURIComponent(definition)}/trust${rev ? `?rev=${encodeURIComponent(rev)}` : ''}`)
    },
    getSettings: () => request<SettingsView>('GET', '/api/settings'),
    saveSettings: (s) => request<SettingsView>('PUT', '/api/settings', s),
    openURL: async (url) => {
      window.open(url, '_blank', 'noopener')
    },
    onEvent: (handler) => listen(EVENT_NAME, (d) => handler(d as BerthEvent)),
    onChange: (handler) => listen(CHANGE_EVENT, (d) => handler(d as Change)),
    onLog: (handler) => listen(LOG_EVENT, (d) => handler(d as LogBatch)),
  }
}
