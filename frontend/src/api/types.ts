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
}

/** The settings screen (settings.View). */
export interface SettingsView {
  saved: Settings
  effective: Settings
  overrides?: string[]
  path: string
  error?: string
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
  revision?: string
  previousRevision?: string
  who: Who
  startedAt: string
  finishedAt?: string
  duration?: number
  status: 'running' | 'succeeded' | 'failed' | 'rolled-back' | 'interrupted' | string
  error?: string
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
}

/** Narrows the history (api.HistoryFilter); empty fields mean any. */
export interface HistoryFilter {
  kinds?: string[]
  status?: string
  limit?: number
}
