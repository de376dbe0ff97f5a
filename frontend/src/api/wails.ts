import { ApiError, toError, type BerthAPI } from './client'
import { CHANGE_EVENT, EVENT_NAME, LOG_EVENT, type TrustReview, type AdoptResult, type BerthEvent, type Change, type DBInfo, type DBResult, type DriftReport, type FileChange, type HealingPause, type SyncResult, type Deployment, type DeployPlan, type DeployResult, type Environment, type HistoryFilter, type Listing, type LogBatch, type LogRequest, type Result, type RevisionEntry, type Settings, type SettingsView } from './types'

/** The bound Go methods of app/desktop.API, as Wails exposes them. */
export interface WailsBoundAPI {
  ListEnvironments(): Promise<Listing>
  Up(env: string, definition: string): Promise<Result>
  Down(env: string, volumes: boolean): Promise<Result>
  Status?(env: string): Promise<Environment>
  Plan?(definition: string, as: string): Promise<Result>
  PlanDown?(env: string, volumes: boolean): Promise<Result>
  PlanRecreate?(env: string, service: string): Promise<Result>
  Recreate?(env: string, service: string): Promise<Result>
  Revisions?(env: string): Promise<RevisionEntry[]>
  PlanDeploy?(env: string, definition: string, rev: string): Promise<DeployPlan>
  Deploy?(env: string, definition: string, rev: string): Promise<DeployResult>
  PlanRollback?(env: string, to: string): Promise<DeployPlan>
  Rollback?(env: string, to: string): Promise<DeployResult>
  History?(env: string, filter: HistoryFilter): Promise<Deployment[]>
  Databases?(env: string): Promise<DBInfo[]>
  DBClone?(env: string, service: string, from: string): Promise<DBResult>
  DBSnapshot?(env: string, service: string, name: string): Promise<DBResult>
  DBRestore?(env: string, snapshot: string): Promise<DBResult>
  DBReset?(env: string, service: string): Promise<DBResult>
  DBRemove?(env: string, snapshot: string): Promise<void>
  Check?(env: string): Promise<DriftReport>
  DriftReports?(): Promise<DriftReport[]>
  PlanSync?(env: string): Promise<SyncResult>
  Sync?(env: string): Promise<SyncResult>
  Discard?(env: string): Promise<FileChange[]>
  Adopt?(env: string, branch: string): Promise<AdoptResult>
  PauseHealing?(env: string, minutes: number): Promise<HealingPause>
  HealingPaused?(env: string): Promise<HealingPause>
  SubscribeLogs?(req: LogRequest): Promise<string>
  UnsubscribeLogs?(id: string): Promise<void>
  ReviewTrust?(definition: string, rev: string): Promise<TrustReview>
  Trust?(definition: string, rev: string, digest: string): Promise<TrustReview>
  RevokeTrust?(definition: string, rev: string): Promise<void>
  GetSettings?(): Promise<SettingsView>
  SaveSettings?(s: Settings): Promise<SettingsView>
  OpenURL?(url: string): Promise<void>
  Shown?(marks: Record<string, number>): Promise<void>
}

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
  const need = <K extends keyof WailsBoundAPI>(k: K): NonNullable<WailsBoundAPI[K]> => {
    const f = bound()[k]
    if (!f) throw new ApiError(`the desktop app has no ${String(k)}`)
    return f as NonNullable<WailsBoundAPI[K]>
  }
  return {
    transport: 'wails',
    listEnvironments: () => call(() => bound().ListEnvironments()),
    shown: (marks) => {
      void win.go?.desktop?.API?.Shown?.(marks).catch(() => {})
    },
    status: (env) => call(() => need('Status')(env)),
    plan: (definition, as = '') => call(() => need('Plan')(definition, as)),
    up: (env, definition = '') => call(() => bound().Up(env, definition)),
    planDown: (env, volumes = false) => call(() => need('PlanDown')(env, volumes)),
    down: (env, volumes = false) => call(() => bound().Down(env, volumes)),
    planRecreate: (env, service) => call(() => need('PlanRecreate')(env, service)),
    recreate: (env, service) => call(() => need('Recreate')(env, service)),
    revisions: (env) => call(() => need('Revisions')(env)),
    planDeploy: (env, rev, definition = '') => call(() => need('PlanDeploy')(env, definition, rev)),
    deploy: (env, rev, definition = '') => call(() => need('Deploy')(env, definition, rev)),
    planRollback: (env, to = '') => call(() => need('PlanRollback')(env, to)),
    rollback: (env, to = '') => call(() => need('Rollback')(env, to)),
    history: (env, filter = {}) => call(() => need('History')(env, filter)),
    databases: (env) => call(() => need('Databases')(env)),
    dbClone: (env, service = '', from = '') => call(() => need('DBClone')(env, service, from)),
    dbSnapshot: (env, service = '', name = '') => call(() => need('DBSnapshot')(env, service, name)),
    dbRestore: (env, snapshot) => call(() => need('DBRestore')(env, snapshot)),
    dbReset: (env, service = '') => call(() => need('DBReset')(env, service)),
    dbRemove: (env, snapshot) => call(() => need('DBRemove')(env, snapshot)),
    check: (env) => call(() => need('Check')(env)),
    driftReports: () => call(() => need('DriftReports')()),
    planSync: (env) => call(() => need('PlanSync')(env)),
    sync: (env) => call(() => need('Sync')(env)),
    discard: (env) => call(() => need('Discard')(env)),
    adopt: (env, branch = '') => call(() => need('Adopt')(env, branch)),
    pauseHealing: (env, minutes) => call(() => need('PauseHealing')(env, minutes)),
    healingPaused: (env) => call(() => need('HealingPaused')(env)),
    subscribeLogs: (req) => call(() => need('SubscribeLogs')(req)),
    unsubscribeLogs: (id) => call(() => need('UnsubscribeLogs')(id)),
    reviewTrust: (definition, rev = '') => call(() => need('ReviewTrust')(definition, rev)),
    trust: (definition, rev, digest) => call(() => need('Trust')(definition, rev, digest)),
    revokeTrust: (definition, rev = '') => call(() => need('RevokeTrust')(definition, rev)),
    getSettings: () => call(() => need('GetSettings')()),
    saveSettings: (st) => call(() => need('SaveSettings')(st)),
    openURL: (url) => call(() => need('OpenURL')(url)),
    onEvent: (handler) => on(EVENT_NAME, (d) => handler(d as BerthEvent)),
    onChange: (handler) => on(CHANGE_EVENT, (d) => handler(d as Change)),
    onLog: (handler) => on(LOG_EVENT, (d) => handler(d as LogBatch)),
  }
}
