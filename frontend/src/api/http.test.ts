import { describe, expect, it, vi } from 'vitest'
import { ApiError, EVENT_NAME, connect, httpTransport, type BerthEvent } from '.'
import { pageToken, TOKEN_KEY, type EventSourceLike, type TokenWindow } from './http'
import { sampleListing } from '../test/fixtures'

interface Call {
  url: string
  init: RequestInit
}

function fakeFetch(respond: (url: string, init: RequestInit) => Response) {
  const calls: Call[] = []
  const f = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input)
    calls.push({ url, init: init ?? {} })
    return respond(url, init ?? {})
  })
  return { fetch: f as unknown as typeof fetch, calls }
}

const json = (v: unknown, status = 200) =>
  new Response(JSON.stringify(v), { status, headers: { 'Content-Type': 'application/json' } })

class FakeEventSource implements EventSourceLike {
  listeners = new Map<string, ((ev: MessageEvent) => void)[]>()
  closed = false
  constructor(readonly url: string) {}
  addEventListener(type: string, l: (ev: MessageEvent) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), l])
  }
  close() {
    this.closed = true
  }
  dispatch(type: string, data: string) {
    this.listeners.get(type)?.forEach((l) => l(new MessageEvent(type, { data })))
  }
}

describe('http transport', () => {
  it('gets the listing with the bearer token', async () => {
    const { fetch, calls } = fakeFetch(() => json(sampleListing()))
    const api = httpTransport({ base: 'http://127.0.0.1:4000/', token: 's3cret', fetch })
    const l = await api.listEnvironments()
    expect(l.environments.map((e) => e.name)).toEqual(['shop', 'shop-pr42'])
    expect(calls[0].url).toBe('http://127.0.0.1:4000/api/environments')
    expect(calls[0].init.method).toBe('GET')
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('Bearer s3cret')
  })

  it('sends no Authorization header without a token', async () => {
    const { fetch, calls } = fakeFetch(() => json(sampleListing()))
    await httpTransport({ fetch }).listEnvironments()
    expect(calls[0].url).toBe('/api/environments')
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBeUndefined()
    expect(calls[0].init.credentials).toBe('same-origin')
  })

  it('posts up and down with the environment name escaped', async () => {
    const { fetch, calls } = fakeFetch((url) => json({ env: url, plan: { project: 'x', ops: [] }, duration: 1 }))
    const api = httpTransport({ fetch })
    await api.up('shop pr/1')
    await api.down('shop', true)
    expect(calls[0].url).toBe('/api/environments/shop%20pr%2F1/up')
    expect(calls[0].init.method).toBe('POST')
    expect(calls[1].url).toBe('/api/environments/shop/down')
    expect(JSON.parse(String(calls[1].init.body))).toEqual({ volumes: true })
  })

  it('calls the revision endpoints', async () => {
    const { fetch, calls } = fakeFetch(() => json([]))
    const api = httpTransport({ fetch })
    await api.revisions('web')
    await api.planDeploy('web', 'abc')
    await api.deploy('web', 'abc', 'site')
    await api.planRollback('web')
    await api.rollback('web', 'def')
    await api.history('web', { kinds: ['deploy', 'rollback'], status: 'failed', limit: 5 })
    await api.history('web')
    expect(calls.map((c) => `${c.init.method} ${c.url}`)).toEqual([
      'GET /api/environments/web/revisions',
      'POST /api/environments/web/plan-deploy',
      'POST /api/environments/web/deploy',
      'POST /api/environments/web/plan-rollback',
      'POST /api/environments/web/rollback',
      'GET /api/environments/web/history?kind=deploy&kind=rollback&status=failed&limit=5',
      'GET /api/environments/web/history',
    ])
    expect(JSON.parse(String(calls[1].init.body))).toEqual({ rev: 'abc', definition: '' })
    expect(JSON.parse(String(calls[2].init.body))).toEqual({ rev: 'abc', definition: 'site' })
    expect(JSON.parse(String(calls[3].init.body))).toEqual({ to: '' })
    expect(JSON.parse(String(calls[4].init.body))).toEqual({ to: 'def' })
  })

  it('rejects with the server error message and status', async () => {
    const { fetch } = fakeFetch(() => json({ error: 'environment "x": not found' }, 404))
    const err = await httpTransport({ fetch }).up('x').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).message).toBe('environment "x": not found')
    expect((err as ApiError).status).toBe(404)
  })

  it('rejects with the text of a non-JSON error', async () => {
    const { fetch } = fakeFetch(() => new Response('forbidden origin\n', { status: 403 }))
    const err = (await httpTransport({ fetch }).listEnvironments().catch((e: unknown) => e)) as ApiError
    expect(err.message).toBe('forbidden origin')
    expect(err.status).toBe(403)
  })

  it('rejects when the server cannot be reached', async () => {
    const fetch = (async () => {
      throw new TypeError('Failed to fetch')
    }) as unknown as typeof globalThis.fetch
    await expect(httpTransport({ fetch }).listEnvironments()).rejects.toThrow(/cannot reach Berth: Failed to fetch/)
  })

  it('streams server-sent events and closes the stream on unsubscribe', () => {
    let source: FakeEventSource | undefined
    const api = httpTransport({
      eventSource: (url) => (source = new FakeEventSource(url)),
    })
    const seen: BerthEvent[] = []
    const off = api.onEvent((ev) => seen.push(ev))
    expect(source!.url).toBe('/api/events')
    const ev: BerthEvent = { time: '2025-01-01T00:00:00Z', env: 'shop', kind: 'op', status: 'done' }
    source!.dispatch(EVENT_NAME, JSON.stringify(ev))
    source!.dispatch(EVENT_NAME, 'not json')
    source!.dispatch('message', JSON.stringify(ev))
    expect(seen).toEqual([ev])
    off()
    expect(source!.closed).toBe(true)
  })

  it('opens the stream with a ticket bought with the token, and a new one after an error', async () => {
    let n = 0
    const { fetch, calls } = fakeFetch((url) => (url === '/api/events/ticket' ? json({ ticket: `t/${++n}`, expiresIn: 30 }) : json({})))
    const sources: FakeEventSource[] = []
    const timers: { f: () => void; ms: number }[] = []
    const api = httpTransport({
      token: 's3cret',
      fetch,
      eventSource: (url) => {
        const s = new FakeEventSource(url)
        sources.push(s)
        return s
      },
      setTimeout: (f, ms) => timers.push({ f, ms }),
      clearTimeout: () => {},
    })
    const seen: unknown[] = []
    const offA = api.onEvent((ev) => seen.push(ev))
    const offB = api.onChange((c) => seen.push(c))
    await vi.waitFor(() => expect(sources).toHaveLength(1))
    // One stream for both kinds, one ticket, bought with the bearer token.
    expect(calls.map((c) => `${c.init.method} ${c.url}`)).toEqual(['POST /api/events/ticket'])
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('Bearer s3cret')
    expect(sources[0].url).toBe('/api/events?ticket=t%2F1')
    expect(sources[0].url).not.toContain('s3cret')

    // An error: the stream is closed (the browser's retry would reuse the
    // spent ticket) and opened again later with a new ticket.
    sources[0].dispatch('error', '')
    expect(sources[0].closed).toBe(true)
    expect(timers.map((t) => t.ms)).toEqual([1000])
    timers[0].f()
    await vi.waitFor(() => expect(sources).toHaveLength(2))
    expect(sources[1].url).toBe('/api/events?ticket=t%2F2')
    // The back-off doubles while it fails, and starts again once open.
    sources[1].dispatch('error', '')
    expect(timers.map((t) => t.ms)).toEqual([1000, 2000])
    timers[1].f()
    await vi.waitFor(() => expect(sources).toHaveLength(3))
    sources[2].dispatch('open', '')
    sources[2].dispatch('error', '')
    expect(timers.map((t) => t.ms)).toEqual([1000, 2000, 1000])

    offA()
    offB()
    timers[2].f()
    await Promise.resolve()
    expect(sources).toHaveLength(3)
  })

  it('tries the ticket again later when the server cannot be reached', async () => {
    let up = false
    const fetch = (async () => {
      if (!up) throw new TypeError('Failed to fetch')
      return json({ ticket: 'x', expiresIn: 30 }, 200)
    }) as unknown as typeof globalThis.fetch
    const timers: (() => void)[] = []
    const sources: string[] = []
    const api = httpTransport({
      token: 't',
      fetch,
      eventSource: (url) => {
        sources.push(url)
        return new FakeEventSource(url)
      },
      setTimeout: (f) => timers.push(f),
      clearTimeout: () => {},
    })
    api.onLog(() => {})
    await vi.waitFor(() => expect(timers).toHaveLength(1))
    expect(sources).toEqual([])
    up = true
    timers[0]()
    await vi.waitFor(() => expect(sources).toEqual(['/api/events?ticket=x']))
  })
})

describe('pageToken', () => {
  function fakeWindow(hash: string, stored?: string) {
    const store = new Map<string, string>(stored ? [[TOKEN_KEY, stored]] : [])
    const replaced: string[] = []
    const win: TokenWindow = {
      location: { hash, pathname: '/', search: '?view=envs' },
      history: { replaceState: (_d, _u, url) => replaced.push(url) },
      sessionStorage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v) },
    }
    return { win, store, replaced }
  }

  it('takes the token from the fragment, keeps it for the tab and clears the address', () => {
    const { win, store, replaced } = fakeWindow('#token=abc123&panel=logs')
    expect(pageToken(win)).toBe('abc123')
    expect(store.get(TOKEN_KEY)).toBe('abc123')
    expect(replaced).toEqual(['/?view=envs#panel=logs'])
    const bare = fakeWindow('#token=abc123')
    pageToken(bare.win)
    expect(bare.replaced).toEqual(['/?view=envs'])
  })

  it('finds the token of an earlier load of the tab, and none without one', () => {
    const { win, replaced } = fakeWindow('', 'kept')
    expect(pageToken(win)).toBe('kept')
    expect(replaced).toEqual([])
    expect(pageToken(fakeWindow('').win)).toBeUndefined()
  })

  it('connect sends the page token as a bearer token', async () => {
    const { win } = fakeWindow('#token=p4ge')
    const { fetch, calls } = fakeFetch(() => json(sampleListing()))
    await connect(win as never, { fetch }).listEnvironments()
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('Bearer p4ge')
  })
})
