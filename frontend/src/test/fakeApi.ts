import { vi } from 'vitest'
import type { BerthAPI, BerthEvent, Change, LogBatch, Result } from '../api'
import { sampleListing } from './fixtures'

/** A plan result for env with the given op kinds. */
export function result(env: string, kinds: string[] = ['create-container']): Result {
  return {
    env,
    plan: { project: env, ops: kinds.map((kind, i) => ({ id: i + 1, kind, resource: `${env}-web-1`, cause: 'container missing' })) },
    duration: 1.5e9,
  }
}

/** fakeAPI is a BerthAPI whose pushes the test drives. */
export function fakeAPI(over: Partial<BerthAPI> = {}) {
  const h = { event: new Set<(e: BerthEvent) => void>(), change: new Set<(c: Change) => void>(), log: new Set<(b: LogBatch) => void>() }
  const sub = <T>(set: Set<(x: T) => void>, f: (x: T) => void) => {
    set.add(f)
    return () => set.delete(f)
  }
  const api: BerthAPI = {
    transport: 'http',
    listEnvironments: vi.fn(async () => sampleListing()),
    status: vi.fn(async (env: string) => sampleListing().environments.find((e) => e.name === env)!),
    plan: vi.fn(async (_d: string, as?: string) => result(as ?? _d)),
    up: vi.fn(async (env: string) => result(env)),
    planDown: vi.fn(async (env: string) => result(env, ['remove-container'])),
    down: vi.fn(async (env: string) => result(env, ['remove-container'])),
    planRecreate: vi.fn(async (env: string) => result(env, ['recreate-container'])),
    recreate: vi.fn(async (env: string) => result(env, ['recreate-container'])),
    subscribeLogs: vi.fn(async () => 'logs-1'),
    unsubscribeLogs: vi.fn(async () => {}),
    getSettings: vi.fn(async () => ({ saved: {}, effective: { definitionsDir: '/defs' }, path: '/cfg/berth/settings.json' })),
    saveSettings: vi.fn(async (s) => ({ saved: s, effective: s, path: '/cfg/berth/settings.json' })),
    openURL: vi.fn(async () => {}),
    onEvent: (f) => sub(h.event, f),
    onChange: (f) => sub(h.change, f),
    onLog: (f) => sub(h.log, f),
    ...over,
  }
  return {
    api,
    emit: (ev: BerthEvent) => h.event.forEach((f) => f(ev)),
    change: (c: Change) => h.change.forEach((f) => f(c)),
    log: (b: LogBatch) => h.log.forEach((f) => f(b)),
  }
}
