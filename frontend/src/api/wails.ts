import { ApiError, toError, type BerthAPI } from './client'
import type { BoundMethods } from './contract.gen'
import { CHANGE_EVENT, EVENT_NAME, LOG_EVENT, type BerthEvent, type Change, type LogBatch } from './types'

/**
 * The bound Go methods of app/desktop.API, as Wails exposes them: generated
 * from the Go types (contract.gen.ts), every one required, so a method
 * renamed or retyped in Go fails npm run check here.
 */
export type WailsBoundAPI = BoundMethods

/** The parts of the window object that Wails' runtime provides. */
export interface WailsWindow {
  go?: { desktop?: { API?: WailsBoundAPI } }
  runtime?: {
    EventsOn(name: string, cb: (...data: unknown[]) => void): () => void
  }
}

/** isWails reports whether the page runs inside the Wails desktop window. */
export function isWails(win: WailsWindow): boolean {
  return Boolean(win.go?.desktop?.API && win.runtime)
}

/**
 * wailsTransport calls the Go methods bound by app/desktop through
 * window.go.desktop.API and listens to events with window.runtime.EventsOn.
 * Wails rejects a call with the Go error's text; it becomes an ApiError.
 */
export function wailsTransport(win: WailsWindow): BerthAPI {
  const bound = (): WailsBoundAPI => {
    const api = win.go?.desktop?.API
    if (!api) throw new ApiError('the desktop bindings are not available')
    return api
  }
  const call = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f()
    } catch (e) {
      throw toError(e)
    }
  }
  const on = (name: string, handler: (d: unknown) => void) => {
    if (!win.runtime) return () => {}
    return win.runtime.EventsOn(name, (data) => handler(data))
  }
  return {
    transport: 'wails',
    listEnvironments: () => call(() => bound().ListEnvironments()),
    shown: (marks) => {
      void win.go?.desktop?.API?.Shown?.(marks).catch(() => {}) // an older app binds no Shown
    },
    status: (env) => call(() => bound().Status(env)),
    plan: (definition, as = '', variant = '') => call(() => bound().Plan(definition, as, variant)),
    up: (env, definition = '', variant = '') => call(() => bound().Up(env, definition, variant)),
    setSecret: (owner, name, value, environment = false) => call(() => bound().SetSecret(owner, name, value, environment)),
    removeSecret: (owner, name, environment = false) => call(() => bound().RemoveSecret(owner, name, environment)),
    preflight: (definition, variant = '') => call(() => bound().Preflight(definition, variant)),
    openRepository: (where) => call(() => bound().OpenRepository(where)),
    listSecrets: (owner = '') => call(() => bound().ListSecrets(owner)),
    openShell: (env, service) => call(() => bound().OpenShell(env, service)),
    planDown: (env, volumes = false) => call(() => bound().PlanDown(env, volumes)),
    down: (env, volumes = false) => call(() => bound().Down(env, volumes)),
    planRecreate: (env, service) => call(() => bound().PlanRecreate(env, service)),
    recreate: (env, service) => call(() => bound().Recreate(env, service)),
    revisions: (env) => call(() => bound().Revisions(env)),
    planDeploy: (env, rev, definition = '') => call(() => bound().PlanDeploy(env, definition, rev)),
    deploy: (env, rev, definition = '') => call(() => bound().Deploy(env, definition, rev)),
    planRollback: (env, to = '') => call(() => bound().PlanRollback(env, to)),
    rollback: (env, to = '') => call(() => bound().Rollback(env, to)),
    history: (env, filter = {}) => call(() => bound().History(env, filter)),
    databases: (env) => call(() => bound().Databases(env)),
    dbClone: (env, service = '', from = '') => call(() => bound().DBClone(env, service, from)),
    dbSnapshot: (env, service = '', name = '') => call(() => bound().DBSnapshot(env, service, name)),
    dbRestore: (env, snapshot) => call(() => bound().DBRestore(env, snapshot)),
    dbReset: (env, service = '') => call(() => bound().DBReset(env, service)),
    dbRemove: (env, snapshot) => call(() => bound().DBRemove(env, snapshot)),
    check: (env) => call(() => bound().Check(env)),
    driftReports: () => call(() => bound().DriftReports()),
    planSync: (env) => call(() => bound().PlanSync(env)),
    sync: (env) => call(() => bound().Sync(env)),
    discard: (env) => call(() => bound().Discard(env)),
    adopt: (env, branch = '') => call(() => bound().Adopt(env, branch)),
    pauseHealing: (env, minutes) => call(() => bound().PauseHealing(env, minutes)),
    healingPaused: (env) => call(() => bound().HealingPaused(env)),
    setWatch: (env, on) => call(() => bound().SetWatch(env, on)),
    watchStatus: (env) => call(() => bound().WatchStatus(env)),
    subscribeLogs: (req) => call(() => bound().SubscribeLogs(req)),
    unsubscribeLogs: (id) => call(() => bound().UnsubscribeLogs(id)),
    reviewTrust: (definition, rev = '') => call(() => bound().ReviewTrust(definition, rev)),
    trust: (definition, rev, digest) => call(() => bound().Trust(definition, rev, digest)),
    revokeTrust: (definition, rev = '') => call(() => bound().RevokeTrust(definition, rev)),
    getSettings: () => call(() => bound().GetSettings()),
    saveSettings: (st) => call(() => bound().SaveSettings(st)),
    openURL: (url) => call(() => bound().OpenURL(url)),
    onEvent: (handler) => on(EVENT_NAME, (d) => handler(d as BerthEvent)),
    onChange: (handler) => on(CHANGE_EVENT, (d) => handler(d as Change)),
    onLog: (handler) => on(LOG_EVENT, (d) => handler(d as LogBatch)),
  }
}
