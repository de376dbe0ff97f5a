import { describe, expect, it, vi } from 'vitest'
import { ApiError, EVENT_NAME, httpTransport, type BerthEvent } from '.'
import type { EventSourceLike } from './http'
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

  it('sends no Authorization header without a token (the cookie does it)', async () => {
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
      token: 't/1',
      eventSource: (url) => (source = new FakeEventSource(url)),
    })
    const seen: BerthEvent[] = []
    const off = api.onEvent((ev) => seen.push(ev))
    expect(source!.url).toBe('/api/events?token=t%2F1')
    const ev: BerthEvent = { time: '2025-01-01T00:00:00Z', env: 'shop', kind: 'op', status: 'done' }
    source!.dispatch(EVENT_NAME, JSON.stringify(ev))
    source!.dispatch(EVENT_NAME, 'not json')
    source!.dispatch('message', JSON.stringify(ev))
    expect(seen).toEqual([ev])
    off()
    expect(source!.closed).toBe(true)
  })
})
