import { ApiError, type BerthAPI } from './client'
import { CHANGE_EVENT, EVENT_NAME, LOG_EVENT, type TrustReview, type AdoptResult, type BerthEvent, type Change, type DBInfo, type DBResult, type DriftReport, type FileChange, type HealingPause, type SyncResult, type Deployment, type DeployPlan, type DeployResult, type Environment, type Listing, type LogBatch, type Result, type RevisionEntry, type SettingsView } from './types'

/** The subset of EventSource the transport uses (so tests can fake it). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void
  close(): void
}

export interface HttpOptions {
  /** Where the API lives; '' means the page's own origin. */
  base?: string
  /**
   * The dashboard's access token. The browser normally needs none: the
   * server turns the ?token= of the first page load into an HttpOnly
   * cookie, which fetch and EventSource send by themselves. Scripts and
   * tests that have the token pass it here; it goes out as a bearer token.
   */
  token?: string
  fetch?: typeof fetch
  eventSource?: (url: string) => EventSourceLike
}

/**
 * httpTransport talks to app/web: JSON over /api/... and server-sent
 * events from /api/events. A non-2xx answer rejects with an ApiError
 * carrying the server's {"error": "..."} message and the status.
 */
export function httpTransport(opts: HttpOptions = {}): BerthAPI {
  const base = (opts.base ?? '').replace(/\/$/, '')
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init))
  const openEvents = opts.eventSource ?? ((url: string) => new EventSource(url))

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
  // subscriber and closes with the last.
  const handlers = new Map<string, Set<(data: unknown) => void>>()
  let source: EventSourceLike | null = null
  function listen(name: string, handler: (data: unknown) => void): () => void {
    if (!source) {
      // EventSource cannot send headers: a token given here travels in the
      // query, which the server also accepts.
      const url = base + '/api/events' + (opts.token ? `?token=${encodeURIComponent(opts.token)}` : '')
      source = openEvents(url)
      for (const n of [EVENT_NAME, CHANGE_EVENT, LOG_EVENT]) {
        source.addEventListener(n, (msg) => {
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
    if (!handlers.has(name)) handlers.set(name, new Set())
    handlers.get(name)!.add(handler)
    return () => {
      handlers.get(name)?.delete(handler)
      if ([...handlers.values()].every((s) => s.size === 0) && source) {
        source.close()
        source = null
      }
    }
  }

  const svc = (e: string, s: string) => `${env(e)}/services/${encodeURIComponent(s)}`
  return {
    transport: 'http',
    listEnvironments: () => request<Listing>('GET', '/api/environments'),
    status: (name) => request<Environment>('GET', env(name)),
    plan: (definition, as = '') => request<Result>('POST', '/api/plan', { definition, as }),
    up: (name, definition) => request<Result>('POST', `${env(name)}/up`, definition ? { definition } : undefined),
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
