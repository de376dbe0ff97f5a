import { vi } from 'vitest'
import type { BerthAPI, BerthEvent, Change, DBInfo, Deployment, DeployPlan, DriftReport, LogBatch, Result, RevisionEntry } from '../api'
import { sampleListing } from './fixtures'

/** A plan result for env with the given op kinds. */
// The kinds the server marks destructive (reconcile.OpKind.Destructive),
// as it sends them: a fake server's answer.
const serverDestructive = new Set(['remove-volume', 'remove-container', 'recreate-container', 'remove-network', 'stop-container'])

/** op is one plan op as the server sends it. */
export function op(kind: string, id: number, resource: string, cause: string) {
  return { id, kind, resource, cause, ...(serverDestructive.has(kind) ? { destructive: true } : {}) }
}

export function result(env: string, kinds: string[] = ['create-container']): Result {
  return {
    env,
    plan: { project: env, ops: kinds.map((kind, i) => op(kind, i + 1, `${env}-web-1`, 'container missing')) },
    duration: 1.5e9,
  }
}

/** Three revisions, newest first; the middle one deployed. */
export function sampleRevisions(): RevisionEntry[] {
  return [
    { hash: 'c3c3c3c3c3c3c3c3', short: 'c3c3c3c', author: 'Ada', when: '2026-11-25T10:00:00Z', message: 'web: V=3' },
    { hash: 'b2b2b2b2b2b2b2b2', short: 'b2b2b2b', author: 'Bob', when: '2026-11-24T10:00:00Z', message: 'web: V=2\n\nbody', deployed: true },
    { hash: 'a1a1a1a1a1a1a1a1', short: 'a1a1a1a', author: 'Ada', when: '2026-11-20T10:00:00Z', message: 'web: V=1' },
  ]
}

/** History records of env, newest first. */
export function sampleHistory(env: string): Deployment[] {
  return [
    { id: 3, kind: 'rollback', env, revision: 'b2b2b2b2b2b2b2b2', who: { gitName: 'Ada', osUser: 'ada' }, startedAt: '2026-11-25T11:00:00Z', duration: 2.5e9, status: 'succeeded' },
    { id: 2, kind: 'deploy', env, revision: 'c3c3c3c3c3c3c3c3', who: { osUser: 'bob' }, startedAt: '2026-11-25T10:30:00Z', duration: 4e9, status: 'failed', error: 'web is unhealthy' },
    { id: 1, kind: 'up', env, who: { osUser: 'ada' }, startedAt: '2026-11-20T10:00:00Z', duration: 1e9, status: 'succeeded' },
  ]
}

/** A deploy plan of env at rev. */
export function deployPlan(env: string, kind: string, rev: RevisionEntry, kinds = ['recreate-container']): DeployPlan {
  return { env, kind, revision: rev, result: result(env, kinds) }
}

/** The databases of env: db from a seed, with two snapshots. */
export function sampleDatabases(env: string): DBInfo[] {
  return [
    {
      env,
      service: 'db',
      engine: 'postgres',
      volume: `${env}_db-data`,
      exists: true,
      container: `${env}-db-1`,
      source: 'seed db/seed.sql',
      golden: { volume: 'berth-golden-1a2b', source: 'seed db/seed.sql', size: 8 * 1024 * 1024, loadedAt: '2026-11-25T09:00:00Z' },
      strategy: 'reflink',
      snapshots: [
        { id: 2, name: 'before-v2', env, service: 'db', volume: 'berth-snap-2', size: 40 * 1024 * 1024, created: '2026-11-25T11:00:00Z' },
        { id: 1, name: 'deploy-7', env, service: 'db', volume: 'berth-snap-1', size: 1536, created: '2026-11-24T12:00:00Z', deploymentId: 7 },
      ],
    },
  ]
}

/** A drift report of env: the web service's memory changed, one file edited, two commits behind. */
export function driftedReport(env: string): DriftReport {
  return {
    env,
    definition: env,
    revision: 'b2b2b2b2b2b2b2b2',
    inSync: false,
    policy: 'warn',
    runtime: [{ service: 'web', container: `${env}-web-1`, path: '/hostConfig/memory', desired: '0', live: '67108864', kind: 'changed' }],
    files: [{ path: 'conf/app.conf', kind: 'modified' }],
    workspace: `/data/workspaces/${env}`,
    upstream: { branch: 'main', head: sampleRevisions()[0], behind: 2 },
    local: [],
    checkedAt: '2026-11-25T11:59:30Z',
  }
}

/** An in-sync report of env. */
export function inSyncReport(env: string): DriftReport {
  return { env, definition: env, inSync: true, policy: 'warn', runtime: [], files: [], local: [], checkedAt: '2026-11-25T11:59:30Z' }
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
    revisions: vi.fn(async () => sampleRevisions()),
    planDeploy: vi.fn(async (env: string, rev: string) => deployPlan(env, 'deploy', sampleRevisions().find((r) => r.hash === rev) ?? sampleRevisions()[0])),
    deploy: vi.fn(async (env: string, rev: string) => ({ ...result(env, ['recreate-container']), kind: 'deploy', id: 4, revision: sampleRevisions().find((r) => r.hash === rev)! })),
    planRollback: vi.fn(async (env: string) => deployPlan(env, 'rollback', sampleRevisions()[2])),
    rollback: vi.fn(async (env: string) => ({ ...result(env, ['recreate-container']), kind: 'rollback', id: 5, revision: sampleRevisions()[2] })),
    history: vi.fn(async (env: string) => sampleHistory(env)),
    databases: vi.fn(async (env: string) => sampleDatabases(env)),
    dbClone: vi.fn(async (env: string) => ({ env, service: 'db', op: 'clone', from: 'seed db/seed.sql', strategy: 'reflink', duration: 8e8 })),
    dbSnapshot: vi.fn(async (env: string, _s?: string, name?: string) => ({ env, service: 'db', op: 'snapshot', from: 'db', strategy: 'reflink', duration: 3e8, snapshot: { ...sampleDatabases(env)[0].snapshots[0], name: name || 'auto' } })),
    dbRestore: vi.fn(async (env: string) => ({ env, service: 'db', op: 'restore', from: 'snapshot before-v2', strategy: 'reflink', duration: 5e8 })),
    dbReset: vi.fn(async (env: string) => ({ env, service: 'db', op: 'reset', from: 'seed db/seed.sql', strategy: 'reflink', duration: 5e8 })),
    dbRemove: vi.fn(async () => {}),
    check: vi.fn(async (env: string) => inSyncReport(env)),
    driftReports: vi.fn(async () => []),
    planSync: vi.fn(async (env: string) => ({ ...result(env, ['recreate-container']), id: 0, restored: [{ path: 'conf/app.conf', kind: 'modified' }] })),
    sync: vi.fn(async (env: string) => ({ ...result(env, ['recreate-container']), id: 9, restored: [], after: inSyncReport(env) })),
    discard: vi.fn(async () => [{ path: 'conf/app.conf', kind: 'modified' }]),
    adopt: vi.fn(async (env: string, branch?: string) => ({ env, branch: branch || `berth/adopt-${env}`, commit: sampleRevisions()[0], files: ['compose.yaml'], adopted: [], left: [] })),
    pauseHealing: vi.fn(async (env: string, minutes: number) => ({ env, until: minutes > 0 ? new Date(Date.now() + minutes * 60000).toISOString() : undefined })),
    healingPaused: vi.fn(async (env: string) => ({ env })),
    setWatch: vi.fn(async (env: string, on: boolean) => ({ env, watching: on })),
    watchStatus: vi.fn(async (env: string) => ({ env, watching: false })),
    subscribeLogs: vi.fn(async () => 'logs-1'),
    unsubscribeLogs: vi.fn(async () => {}),
    reviewTrust: vi.fn(async (definition: string, rev?: string) => ({ repo: 'path:/defs', definition, revision: rev, capabilities: [], digest: 'd0', trusted: true })),
    trust: vi.fn(async (definition: string, rev: string, digest: string) => ({ repo: 'path:/defs', definition, revision: rev, capabilities: [], digest, trusted: true })),
    revokeTrust: vi.fn(async () => {}),
    setSecret: vi.fn(async (owner: string, name: string) => ({ ref: { scope: 'definition', owner, name }, where: 'encrypted file' })),
    removeSecret: vi.fn(async () => true),
    preflight: vi.fn(async (definition: string) => ({ definition, env: definition, checks: [{ name: 'engine', status: 'ok' as const, detail: 'Docker' }], ok: true, tookNs: 1 })),
    openRepository: vi.fn(async (where: string) => ({ repo: where, definitionsDir: where + '/environments' })),
    openShell: vi.fn(async (env: string, service: string) => ({ command: `berth exec ${env} ${service}`, opened: false, why: 'web mode: run it in a terminal' })),
    listSecrets: vi.fn(async () => ({ where: 'encrypted file', secrets: [] })),
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
