// Types mirroring the Go DTOs (internal/core, internal/reconcile,
// internal/spec) field for field, by their json tags. Keep them in step
// with the Go structs; fields tagged omitempty are optional here.

/** Environment and service states (core.State*). */
export type State = 'running' | 'partial' | 'stopped' | 'failed' | 'absent'

/** What `berth ls` shows: definitions and the environments on the target. */
export interface Listing {
  target: Target
  definitions: Definition[]
  environments: Environment[]
}

/** The engine Berth talks to. */
export interface Target {
  context: string
  host: string
  serverVersion?: string
  apiVersion?: string
  /** Why the engine could not be reached; definitions are still listed. */
  error?: string
}

/** One folder of the definitions repo. */
export interface Definition {
  name: string
  description?: string
  dir: string
  /** Why it cannot be loaded. */
  error?: string
  /** The manifest's variants, by name. */
  variants?: VariantInfo[]
  /** The secrets the manifest declares, and whether each is set. */
  secrets?: SecretStatus[]
}

/** One variant of a definition (core.VariantInfo). */
export interface VariantInfo {
  name: string
  description?: string
}

/** A secret, declared by a definition or stored (core.SecretStatus); never its value. */
export interface SecretStatus {
  scope: 'definition' | 'environment'
  owner: string
  name: string
  description?: string
  declared: boolean
  required: boolean
  set: boolean
}

/** The secrets and where they are kept (core.SecretListing). */
export interface SecretListing {
  where: string
  secrets: SecretStatus[]
}

/** One preflight check (core.Check). */
export interface Check {
  name: string
  status: 'ok' | 'warn' | 'fail' | 'skip'
  detail: string
  fix?: string
}

/** The checks of a definition before an up (core.Preflight). */
export interface Preflight {
  definition: string
  description?: string
  env: string
  engine?: string
  checks: Check[]
  ok: boolean
  tookNs: number
  failed?: string[]
}

/** What a Shell button did (api.Shell): a terminal opened, or the command to run. */
export interface Shell {
  command: string
  opened: boolean
  terminal?: string
  why?: string
}

/** A definitions repo opened (core.OpenedRepo). */
export interface OpenedRepo {
  repo: string
  cloned?: boolean
  definitionsDir: string
  overridden?: string
}

/** What setting a secret did (core.SecretSet). */
export interface SecretSet {
  ref: { scope: string; owner: string; name: string }
  where: string
  warnings?: string[]
}

/** One environment on the target. */
export interface Environment {
  name: string
  definition: string
  revision?: string
  state: State | string
  services?: Service[]
  running: number
  containers: number
  /** The definition's variant it runs as. */
  variant?: string
  /** Published ports moved off the declared ones because they were taken (status only). */
  portMoves?: PortMove[]
}

/** A published host port used instead of the declared one (spec.PortMove). */
export interface PortMove {
  service: string
  containerPort: number
  protocol: string
  hostIP?: string
  from: string
  to: string
}

export interface Service {
  name: string
  state: State | string
  health?: string
  image: string
  replicas: number
  containers: Container[]
  ports?: PublishedPort[]
}

export interface Container {
  id: string
  name: string
  service: string
  number: number
  oneOff?: boolean
  managed: boolean
  configHash: string
  image: string
  imageID: string
  state: string
  health?: string
  exitCode: number
  restarts: number
  created: string
  startedAt?: string
  ports?: PublishedPort[]
  networks?: string[]
  labels?: Record<string, string>
}

export interface PublishedPort {
  hostIP: string
  hostPort: number
  containerPort: number
  protocol: string
}

export type OpKind =
  | 'create-network'
  | 'remove-network'
  | 'create-volume'
  | 'remove-volume'
  | 'pull-image'
  | 'build-image'
  | 'create-container'
  | 'recreate-container'
  | 'start-container'
  | 'stop-container'
  | 'restart-container'
  | 'remove-container'

export interface Await {
  service: string
  condition: string
  required: boolean
}

/** One operation of a plan (reconcile.Op). */
export interface Op {
  id: number
  kind: OpKind | string
  resource: string
  service?: string
  number?: number
  key?: string
  containerID?: string
  cause: string
  after?: number[]
  await?: Await[]
  /** Set when the op loses a container or data (the Go rule, OpKind.Destructive). */
  destructive?: boolean
  /** On remove-container: its anonymous volumes go too (down --volumes). */
  removeVolumes?: boolean
}

export interface Plan {
  project: string
  ops: Op[] | null
}

/** Op progress statuses (reconcile.Status). */
export type OpStatus = 'started' | 'progress' | 'done' | 'failed' | 'skipped' | 'waiting'

/** One thing that happened during an operation (core.Event). */
export interface BerthEvent {
  time: string
  env: string
  kind: 'plan' | 'op' | 'message' | 'warning' | string
  /** The whole plan, sent once before it is applied (kind "plan"). */
  plan?: Plan
  op?: Op
  status?: OpStatus | string
  detail?: string
  error?: string
  /** The progress of a database step (kind "db"). */
  db?: DBProgress
}

export interface Warning {
  file: string
  line?: number
  field: string
  message: string
}

/** What an operation did (core.Result). Duration is in nanoseconds. */
export interface Result {
  env: string
  plan: Plan
  warnings?: Warning[]
  /** Published ports moved off the declared ones because they were taken. */
  portMoves?: PortMove[]
  /** Files kept out of Git read from the user's checkout, not the revision. */
  localFiles?: string[]
  duration: number
  cleaned?: boolean
}

/** The name of the event that carries core.Event values, in both transports. */
export const EVENT_NAME = 'berth:event'

/** The engine's state (core.EngineState). */
export interface EngineState {
  up: boolean
  target: Target
  error?: string
}

/** A live state change (core.Change), pushed as "berth:change". */
export interface Change {
  time: string
  kind: 'engine' | 'environment' | 'removed' | string
  env?: string
  environment?: Environment
  engine?: EngineState
  /** The outcome of a background fetch of the definitions repo (kind "repo"). */
  repo?: RepoState
  /** The environment's drift report (kind "drift"). */
  drift?: DriftReport
  /** What a watched environment did (kind "develop"). */
  develop?: DevEvent
  service?: string
  container?: string
  action?: string
}

/** A background fetch of the definitions repo (core.RepoState). */
export interface RepoState {
  /** The fetch brought new commits: revisions may show an update. */
  moved?: boolean
  /** Why the fetch failed; neither field: fetching works again. */
  error?: string
}

/** One line of a container's output (core.LogLine). */
export interface LogLine {
  service: string
  container: string
  stream: string
  time: string
  text: string
}

/** Lines of one log subscription (api.LogBatch), pushed as "berth:log". */
export interface LogBatch {
  id: string
  lines: LogLine[]
  done?: boolean
  error?: string
}

/** A log subscription request (api.LogRequest). */
export interface LogRequest {
  env: string
  service?: string
  tail?: number
}

/** User settings (settings.Settings); empty means the default. */
export interface Settings {
  definitionsDir?: string
  dockerHost?: string
  dockerContext?: string
  /** How often a cloned definitions repo is fetched ("5m"; "0": never). */
  fetchInterval?: string
  /** Days an unused workspace stays after its last use (default 14). */
  workspaceKeepDays?: number
  /** The environment variable holding the repo's https token. */
  repoTokenEnv?: string
  /** Git notes on deployed commits (refs/notes/berth). */
  notes?: boolean
  /** Capabilities refused whatever a definition is granted. */
  refuse?: string[]
}

/** The settings screen (settings.View). */
export interface SettingsView {
  saved: Settings
  effective: Settings
  overrides?: string[]
  path: string
  error?: string
  /**
   * Settings this transport may not change (the web mode's: definitionsDir,
   * dockerHost, dockerContext, repoTokenEnv); absent in the desktop window.
   */
  readOnly?: (keyof Settings)[]
}

export const CHANGE_EVENT = 'berth:change'
export const LOG_EVENT = 'berth:log'

/** One commit of the definitions repo (core.Revision). */
export interface Revision {
  hash: string
  short: string
  author: string
  email?: string
  when: string
  message: string
  tree?: string
  /** The tree hash of the definition's folder at this commit. */
  definitionTree?: string
}

/** A revision in the timeline (core.RevisionEntry): deployed marks the one running. */
export interface RevisionEntry extends Revision {
  deployed?: boolean
}

/** The person behind a deployment (core.Who). */
export interface Who {
  gitName?: string
  gitEmail?: string
  osUser?: string
  host?: string
}

/** One recorded operation on an environment (core.Deployment). Duration is in nanoseconds. */
export interface Deployment {
  id: number
  kind: 'up' | 'down' | 'deploy' | 'rollback' | string
  env: string
  definition?: string
  /** The definition's variant it ran. */
  variant?: string
  /** The address of the engine it ran on. */
  engine?: string
  revision?: string
  previousRevision?: string
  who: Who
  startedAt: string
  finishedAt?: string
  duration?: number
  status: 'running' | 'succeeded' | 'failed' | 'rolled-back' | 'interrupted' | string
  error?: string
  /** What a database operation (or a recreate) did: the service, source, snapshot, strategy. */
  detail?: DBDetail
  /** The plan applied (the store's JSON of it). */
  plan?: unknown
  imageDigests?: Record<string, string>
  pid?: number
  /** The database snapshots taken before it. */
  snapshotIds?: number[]
}

/** What a database operation's record says it did (core.DBDetail). */
export interface DBDetail {
  service?: string
  source?: string
  snapshot?: string
  strategy?: string
  bytes?: number
  /** The snapshot a restore or reset kept of what it replaced. */
  safety?: string
}

/** What a deploy or rollback is about to do (core.DeployPlan). */
export interface DeployPlan {
  env: string
  kind: string
  revision: Revision
  result: Result
}

/** What a deploy or rollback did (core.DeployResult). */
export interface DeployResult extends Result {
  kind: string
  id: number
  revision: Revision
  interrupted?: number[]
  rolledBack?: DeployResult
  /** Snapshots taken before the deploy (their ids). */
  snapshots?: number[]
  /** A rollback with data: what each database restore did. */
  data?: DBResult[]
}

/** Narrows the history (api.HistoryFilter); empty fields mean any. */
export interface HistoryFilter {
  kinds?: string[]
  status?: string
  limit?: number
}

/** A catalogued snapshot of an environment's database (core.DBSnapshot). */
export interface DBSnapshot {
  id: number
  name: string
  env: string
  service: string
  volume: string
  /** Bytes. */
  size: number
  created: string
  /** The deployment it was taken before (absent: taken by hand). */
  deploymentId?: number
}

/** The golden copy clones come from (core.DBGolden). */
export interface DBGolden {
  volume: string
  source: string
  size?: number
  loadedAt?: string
}

/** One database of an environment (core.DBInfo). */
export interface DBInfo {
  env: string
  service: string
  engine: string
  volume: string
  exists: boolean
  container?: string
  /** Where clones come from ("seed db/seed.sql", "env shop", ...). */
  source?: string
  golden?: DBGolden
  /** How a copy is made on this engine (reflink, copy, logical). */
  strategy?: string
  snapshots: DBSnapshot[]
}

/** The progress of a long database step (core.DBProgress). */
export interface DBProgress {
  service: string
  step: string
  done?: number
  /** 0 or absent: unknown. */
  total?: number
}

/** What a clone, snapshot, restore or reset did (core.DBResult). Duration in nanoseconds. */
export interface DBResult {
  env: string
  service: string
  op: 'clone' | 'snapshot' | 'restore' | 'reset' | string
  from: string
  strategy: string
  duration: number
  bytes?: number
  goldenLoaded?: boolean
  snapshot?: DBSnapshot
  /** The snapshot a restore or reset kept of what it replaced (copy-on-write stores). */
  safety?: string
}

/** One field that differs between desired and live (drift.Item). */
export interface DriftItem {
  service?: string
  container?: string
  containerID?: string
  /** A JSON Pointer into the service ("/hostConfig/memory"). */
  path: string
  desired: string | null
  live: string | null
  kind: 'changed' | 'added' | 'removed' | 'missing' | 'stopped' | 'replaced' | 'outdated' | 'image' | 'foreign' | 'extra' | string
  policy?: string
}

/** A file that differs from the commit (core.FileChange). */
export interface FileChange {
  path: string
  kind: string
}

/** How far the tracked branch is ahead (core.Upstream). */
export interface Upstream {
  branch: string
  head: Revision
  behind: number
}

/** An environment's drift (core.DriftReport). */
export interface DriftReport {
  env: string
  definition: string
  revision?: string
  inSync: boolean
  policy: string
  runtime: DriftItem[] | null
  ignored?: number
  files: FileChange[] | null
  workspace?: string
  upstream?: Upstream
  local: FileChange[] | null
  checkedAt: string
  notes?: string[]
  /** The environment could not be checked (engine away). */
  unknown?: boolean
}

/** What heal did or would do (core.SyncResult). */
export interface SyncResult extends Result {
  id: number
  /** Workspace files put back (or to put back) to the commit. */
  restored: FileChange[] | null
  after?: DriftReport
}

/** The commit adopt made (core.AdoptResult). */
export interface AdoptResult {
  env: string
  branch: string
  commit: Revision
  files: string[] | null
  adopted: DriftItem[] | null
  left: DriftItem[] | null
  /** What adopt left out of Git, and why (values and files that look secret). */
  refused?: string[]
}

/** Whether an environment's develop.watch is followed (api.WatchState). */
export interface WatchState {
  env: string
  watching: boolean
}

/** One action of a watched environment (core.DevEvent), in a change of kind "develop". */
export interface DevEvent {
  time: string
  env: string
  service?: string
  action: 'watching' | 'synced' | 'deleted' | 'restarted' | 'rebuilt' | 'error' | 'stopped' | string
  /** The host file, relative to the definition's folder, and where it went in the containers. */
  path?: string
  target?: string
  detail?: string
}

/** Until when automatic healing is paused (api.HealingPause); no until: not paused. */
export interface HealingPause {
  env: string
  until?: string
}

/** One thing a definition can do on the user's machine (spec.Capability). */
export interface Capability {
  kind: string
  subject: string
  text: string
  services?: string[]
  outside?: boolean
  file?: string
  line?: number
  field?: string
}

/** A recorded trust decision (core.TrustDecision). */
export interface TrustDecision {
  id: number
  repo: string
  definition: string
  decision: 'granted' | 'revoked'
  digest?: string
  capabilities?: Capability[]
  how?: string
  who?: string
  decidedAt: string
}

/** What a definition can do and whether the user trusts it (core.TrustReview). */
export interface TrustReview {
  repo: string
  definition: string
  revision?: string
  capabilities: Capability[]
  digest: string
  trusted: boolean
  granted?: TrustDecision
  revoked?: boolean
  new?: Capability[]
  gone?: Capability[]
  refused?: Capability[]
  blocked?: string[]
}
