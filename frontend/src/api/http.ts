import { ApiError, type BerthAPI } from './client'
import { EVENT_NAME, type BerthEvent, type Listing, type Result } from './types'

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
      try {
        const parsed = JSON.parse(text) as { error?: string }
        if (parsed.error) message = parsed.error
      } catch {
        // not JSON: keep the text
      }
      throw new ApiError(message, res.status)
    }
    return JSON.parse(text) as T
  }

  const env = (name: string) => `/api/environments/${encodeURIComponent(name)}`

  return {
    transport: 'http',
    listEnvironments: () => request<Listing>('GET', '/api/environments'),
    up: (name) => request<Result>('POST', `${env(name)}/up`),
    down: (name, volumes = false) => request<Result>('POST', `${env(name)}/down`, { volumes }),
    onEvent(handler) {
      // EventSource cannot send headers: a token given here travels in the
      // query, which the server also accepts.
      const url = base + '/api/events' + (opts.token ? `?token=${encodeURIComponent(opts.token)}` : '')
      const source = openEvents(url)
      source.addEventListener(EVENT_NAME, (msg) => {
        try {
          handler(JSON.parse(msg.data) as BerthEvent)
        } catch {
          // a malformed event is dropped, the stream goes on
        }
      })
      return () => source.close()
    },
  }
}
