import type { TrustReview, AdoptResult, BerthEvent, Change, DBInfo, DBResult, Deployment, DeployPlan, DeployResult, DriftReport, Environment, FileChange, HealingPause, HistoryFilter, WatchState, Listing, LogBatch, LogRequest, Result, RevisionEntry, SecretListing, SecretSet, Preflight, OpenedRepo, Shell, Settings, SettingsView, SyncResult } from './types'

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
  /**
   * shown tells the app that the first listing is on screen (the desktop
   * logs it with BERTH_DEBUG: a start-up diagnostic the benchmark reads).
   */
  shown?(marks: Record<string, number>): void
  status(env: string): Promise<Environment>
  /** What up would do for a new environment `as` from `definition` (as `variant`). */
  plan(definition: string, as?: string, variant?: string): Promise<Result>
  /** Brings env up; `definition` makes a new environment from it (as `variant`). */
  up(env: string, definition?: string, variant?: string): Promise<Result>
  /** Stores a secret's value for a definition (or, with `environment`, an environment). */
  setSecret(owner: string, name: string, value: string, environment?: boolean): Promise<SecretSet>
  /** Removes a stored secret; resolves with whether one was set. */
  removeSecret(owner: string, name: string, environment?: boolean): Promise<boolean>
  /** Secrets declared and stored ('' owner: all), never their values. */
  listSecrets(owner?: string): Promise<SecretListing>
  /** The checks of a definition before an up: engine, trust, secrets, ports, images, disk, memory. */
  preflight(definition: string, variant?: string): Promise<Preflight>
  /** Makes a Git URL (cloned into ~/Berth) or a path the definitions repo. */
  openRepository(where: string): Promise<OpenedRepo>
  /** Opens a terminal running `berth exec env service` (desktop), or says the command (web mode). */
  openShell(env: string, service: string): Promise<Shell>
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
  /** env's databases with their source, golden copy, strategy and snapshots. */
  databases(env: string): Promise<DBInfo[]>
  /** Replaces a database with a copy of a source ('' : the manifest's). */
  dbClone(env: string, service?: string, from?: string): Promise<DBResult>
  /** Takes a snapshot ('' name: one from the time). */
  dbSnapshot(env: string, service?: string, name?: string): Promise<DBResult>
  /** Puts a snapshot (name or id) back: the database's content is replaced. */
  dbRestore(env: string, snapshot: string): Promise<DBResult>
  /** Puts the golden copy back into a database. */
  dbReset(env: string, service?: string): Promise<DBResult>
  /** Removes a snapshot. */
  dbRemove(env: string, snapshot: string): Promise<void>
  /** Checks env's drift now. */
  check(env: string): Promise<DriftReport>
  /** The drift watcher's last report of each environment. */
  driftReports(): Promise<DriftReport[]>
  /** What heal would do. */
  planSync(env: string): Promise<SyncResult>
  /** Heals env; the plan was shown, so it is applied. */
  sync(env: string): Promise<SyncResult>
  /** Puts edited workspace files back to the deployed commit. */
  discard(env: string): Promise<FileChange[]>
  /** Commits env's drift on a new branch ('' : a name from the time), never pushed. */
  adopt(env: string, branch?: string): Promise<AdoptResult>
  /** Pauses automatic healing for minutes (0 resumes). */
  pauseHealing(env: string, minutes: number): Promise<HealingPause>
  healingPaused(env: string): Promise<HealingPause>
  /** Starts or stops following env's develop.watch; actions arrive as changes of kind "develop". */
  setWatch(env: string, on: boolean): Promise<WatchState>
  watchStatus(env: string): Promise<WatchState>
  /** Follows logs; batches arrive through onLog with the returned id. */
  subscribeLogs(req: LogRequest): Promise<string>
  unsubscribeLogs(id: string): Promise<void>
  /** What a definition (at rev; '' : the definitions folder) can do on this machine, and whether it is trusted. */
  reviewTrust(definition: string, rev?: string): Promise<TrustReview>
  /** Grants the list the user reviewed (its digest); the answer says whether the definition is trusted now. */
  trust(definition: string, rev: string, digest: string): Promise<TrustReview>
  /** Takes every grant of a definition back. */
  revokeTrust(definition: string, rev?: string): Promise<void>
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

/**
 * ApiError is an error the Go side returned, with the HTTP status when
 * known and, for an action on a definition that is not trusted, its review.
 */
export class ApiError extends Error {
  readonly status?: number
  readonly trust?: TrustReview
  constructor(message: string, status?: number, trust?: TrustReview) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.trust = trust
  }
}

/** untrusted says whether an error refused an action because its definition is not trusted (or refused by the settings). */
export function untrusted(e: unknown): boolean {
  if (e instanceof ApiError && (e.trust || e.status === 403)) return true
  const m = e instanceof Error ? e.message : String(e)
  return /is not trusted yet|asks for more than was granted|trust was revoked|asks for what the settings refuse/.test(m)
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
