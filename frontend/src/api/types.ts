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
