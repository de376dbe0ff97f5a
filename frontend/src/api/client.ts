import type { BerthEvent, Change, Deployment, DeployPlan, DeployResult, Environment, HistoryFilter, Listing, LogBatch, LogRequest, Result, RevisionEntry, Settings, SettingsView } from './types'

/**
 * BerthAPI is everything the UI asks of the Go side. Both transports
 * implement it; components and stores only ever see this interface.
 * Operations resolve with their result and reject with an Error whose
 * message is the Go error's text.
 */
export interface BerthAPI {
  /** Which transport this is, for display and diagnostics. */
  readonly transport: 'wails' | 'http'
  listEnvironments(): Promise<Listing>
  status(env: string): Promise<Environment>
  /** What up would do for a new environment `as` from `definition`. */
  plan(definition: string, as?: string): Promise<Result>
  /** Brings env up; `definition` makes a new environment from it. */
  up(env: string, definition?: string): Promise<Result>
  planDown(env: string, volumes?: boolean): Promise<Result>
  down(env: string, volumes?: boolean): Promise<Result>
  planRecreate(env: string, service: string): Promise<Result>
  recreate(env: string, service: string): Promise<Result>
  /** The commits touching env's definition, newest first, the deployed one marked. */
  revisions(env: string): Promise<RevisionEntry[]>
  /** What deploying rev (default: the branch head) to env would do. */
  planDeploy(env: string, rev: string, definition?: string): Promise<DeployPlan>
  /** Deploys rev to env; the plan was shown, so it is applied. */
  deploy(env: string, rev: string, definition?: string): Promise<DeployResult>
  /** What rolling env back (to `to`, default the last good revision) would do. */
  planRollback(env: string, to?: string): Promise<DeployPlan>
  rollback(env: string, to?: string): Promise<DeployResult>
  /** env's recorded operations, newest first. */
  history(env: string, filter?: HistoryFilter): Promise<Deployment[]>
  /** Follows logs; batches arrive through onLog with the returned id. */
  subscribeLogs(req: LogRequest): Promise<string>
  unsubscribeLogs(id: string): Promise<void>
  getSettings(): Promise<SettingsView>
  saveSettings(s: Settings): Promise<SettingsView>
  /** Opens an http(s) link in the system browser (desktop) or a new tab. */
  openURL(url: string): Promise<void>
  /** Subscribes to progress events; returns the unsubscribe function. */
  onEvent(handler: (ev: BerthEvent) => void): () => void
  /** Subscribes to live state changes. */
  onChange(handler: (c: Change) => void): () => void
  /** Subscribes to log batches of every subscription. */
  onLog(handler: (b: LogBatch) => void): () => void
}

/** ApiError is an error the Go side returned, with the HTTP status when known. */
export class ApiError extends Error {
  readonly status?: number
  constructor(message: string, status?: number) {
    super(message)
    this.name = 'ApiError'
    this.status = status
  }
}

/** toError turns whatever a promise rejected with into an Error. */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e
  if (typeof e === 'string') return new ApiError(e)
  if (e && typeof e === 'object' && 'message' in e && typeof e.message === 'string') {
    return new ApiError(e.message)
  }
  return new ApiError(String(e))
}
