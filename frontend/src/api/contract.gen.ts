// Generated from the Go types by app/desktop/contract_test.go: do not edit.
// Rewrite it with `make contract` after changing the API or a type it returns.

import type * as T from './types'
import type { AdoptResult, DBInfo, DBResult, DeployPlan, DeployResult, Deployment, DriftReport, Environment, FileChange, HealingPause, HistoryFilter, Listing, LogRequest, OpenedRepo, Preflight, Result, RevisionEntry, SecretListing, SecretSet, Settings, SettingsView, Shell, SyncResult, TrustReview, WatchState } from './types'

/** The methods app/desktop binds (window.go.desktop.API), each one. */
export interface BoundMethods {
  Adopt(env: string, branch: string): Promise<AdoptResult>
  Check(env: string): Promise<DriftReport>
  DBClone(env: string, service: string, from: string): Promise<DBResult>
  DBRemove(env: string, snapshot: string): Promise<void>
  DBReset(env: string, service: string): Promise<DBResult>
  DBRestore(env: string, snapshot: string): Promise<DBResult>
  DBSnapshot(env: string, service: string, name: string): Promise<DBResult>
  Databases(env: string): Promise<DBInfo[]>
  Deploy(env: string, definition: string, rev: string): Promise<DeployResult>
  Discard(env: string): Promise<FileChange[]>
  Down(env: string, volumes: boolean): Promise<Result>
  DriftReports(): Promise<DriftReport[]>
  GetSettings(): Promise<SettingsView>
  HealingPaused(env: string): Promise<HealingPause>
  History(env: string, filter: HistoryFilter): Promise<Deployment[]>
  ListEnvironments(): Promise<Listing>
  ListSecrets(owner: string): Promise<SecretListing>
  OpenRepository(where: string): Promise<OpenedRepo>
  OpenShell(env: string, service: string): Promise<Shell>
  OpenURL(link: string): Promise<void>
  PauseHealing(env: string, minutes: number): Promise<HealingPause>
  Plan(definition: string, as: string, variant: string): Promise<Result>
  PlanDeploy(env: string, definition: string, rev: string): Promise<DeployPlan>
  PlanDown(env: string, volumes: boolean): Promise<Result>
  PlanRecreate(env: string, service: string): Promise<Result>
  PlanRollback(env: string, to: string): Promise<DeployPlan>
  PlanSync(env: string): Promise<SyncResult>
  Preflight(definition: string, variant: string): Promise<Preflight>
  Recreate(env: string, service: string): Promise<Result>
  RemoveSecret(owner: string, name: string, environment: boolean): Promise<boolean>
  ReviewTrust(definition: string, rev: string): Promise<TrustReview>
  Revisions(env: string): Promise<RevisionEntry[]>
  RevokeTrust(definition: string, rev: string): Promise<void>
  Rollback(env: string, to: string): Promise<DeployResult>
  SaveSettings(s: Settings): Promise<SettingsView>
  SetSecret(owner: string, name: string, value: string, environment: boolean): Promise<SecretSet>
  SetWatch(env: string, on: boolean): Promise<WatchState>
  Shown(marks: Record<string, number>): Promise<void>
  Status(env: string): Promise<Environment>
  SubscribeLogs(req: LogRequest): Promise<string>
  Sync(env: string): Promise<SyncResult>
  Trust(definition: string, rev: string, digest: string): Promise<TrustReview>
  UnsubscribeLogs(id: string): Promise<void>
  Up(env: string, definition: string, variant: string): Promise<Result>
  WatchStatus(env: string): Promise<WatchState>
}

/** The JSON of each Go type the API sends or takes, by its frontend name. */
/** core.AdoptResult */
export interface WireAdoptResult {
  env: string
  branch: string
  commit: WireRevision
  files: string[]
  adopted: WireItem[]
  left: WireItem[]
  refused?: string[]
}
/** reconcile.Await */
export interface WireAwait {
  service: string
  condition: string
  required: boolean
}
/** spec.Capability */
export interface WireCapability {
  kind: string
  subject: string
  text: string
  services?: string[]
  outside?: boolean
  file?: string
  line?: number
  field?: string
}
/** core.Check */
export interface WireCheck {
  name: string
  status: string
  detail: string
  fix?: string
}
/** reconcile.Container */
export interface WireContainer {
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
  ports?: WirePublishedPort[]
  networks?: string[]
  labels?: Record<string, string>
}
/** core.DBGolden */
export interface WireDBGolden {
  volume: string
  source: string
  size?: number
  loadedAt?: string
}
/** core.DBInfo */
export interface WireDBInfo {
  env: string
  service: string
  engine: string
  volume: string
  exists: boolean
  container?: string
  source?: string
  golden?: WireDBGolden
  strategy?: string
  snapshots: WireDBSnapshot[]
}
/** core.DBResult */
export interface WireDBResult {
  env: string
  service: string
  op: string
  from: string
  strategy: string
  duration: number
  bytes?: number
  goldenLoaded?: boolean
  snapshot?: WireDBSnapshot
  safety?: string
}
/** core.DBSnapshot */
export interface WireDBSnapshot {
  id: number
  name: string
  env: string
  service: string
  volume: string
  size: number
  created: string
  deploymentId?: number
}
/** core.Definition */
export interface WireDefinition {
  name: string
  description?: string
  dir: string
  error?: string
  variants?: WireVariantInfo[]
  secrets?: WireSecretStatus[]
}
/** core.DeployPlan */
export interface WireDeployPlan {
  env: string
  kind: string
  revision: WireRevision
  result: WireResult
}
/** core.DeployResult */
export interface WireDeployResult {
  env: string
  plan: WirePlan
  warnings?: WireWarning[]
  portMoves?: WirePortMove[]
  localFiles?: string[]
  duration: number
  cleaned?: boolean
  kind: string
  id: number
  revision: WireRevision
  interrupted?: number[]
  rolledBack?: WireDeployResult
  snapshots?: number[]
  data?: WireDBResult[]
}
/** core.Deployment */
export interface WireDeployment {
  id: number
  kind: string
  env: string
  definition?: string
  variant?: string
  engine?: string
  revision?: string
  previousRevision?: string
  who: WireWho
  plan?: unknown
  startedAt: string
  finishedAt?: string
  duration?: number
  status: string
  error?: string
  imageDigests?: Record<string, string>
  pid?: number
  snapshotIds?: number[]
  detail?: unknown
}
/** core.DriftReport */
export interface WireDriftReport {
  env: string
  definition: string
  revision?: string
  inSync: boolean
  policy: string
  runtime: WireItem[]
  ignored?: number
  files: WireFileChange[]
  workspace?: string
  upstream?: WireUpstream
  local: WireFileChange[]
  checkedAt: string
  notes?: string[]
  unknown?: boolean
}
/** core.Environment */
export interface WireEnvironment {
  name: string
  definition: string
  revision?: string
  state: string
  services?: WireService[]
  running: number
  containers: number
  variant?: string
  portMoves?: WirePortMove[]
}
/** core.FileChange */
export interface WireFileChange {
  path: string
  kind: string
}
/** api.HealingPause */
export interface WireHealingPause {
  env: string
  until?: string
}
/** api.HistoryFilter */
export interface WireHistoryFilter {
  kinds?: string[]
  status?: string
  limit?: number
}
/** drift.Item */
export interface WireItem {
  service?: string
  container?: string
  containerID?: string
  path: string
  desired: string
  live: string
  kind: string
  policy?: string
}
/** core.Listing */
export interface WireListing {
  target: WireTarget
  definitions: WireDefinition[]
  environments: WireEnvironment[]
}
/** api.LogRequest */
export interface WireLogRequest {
  env: string
  service?: string
  tail?: number
}
/** reconcile.Op */
export interface WireOp {
  id: number
  kind: string
  resource: string
  service?: string
  number?: number
  key?: string
  containerID?: string
  removeVolumes?: boolean
  cause: string
  after?: number[]
  await?: WireAwait[]
  destructive?: boolean
}
/** core.OpenedRepo */
export interface WireOpenedRepo {
  repo: string
  cloned?: boolean
  definitionsDir: string
  overridden?: string
}
/** reconcile.Plan */
export interface WirePlan {
  project: string
  ops: WireOp[]
}
/** spec.PortMove */
export interface WirePortMove {
  service: string
  containerPort: number
  protocol: string
  hostIP?: string
  from: string
  to: string
}
/** core.Preflight */
export interface WirePreflight {
  definition: string
  description?: string
  env: string
  engine?: string
  checks: WireCheck[]
  ok: boolean
  tookNs: number
  failed?: string[]
}
/** reconcile.PublishedPort */
export interface WirePublishedPort {
  hostIP: string
  hostPort: number
  containerPort: number
  protocol: string
}
/** secret.Ref */
export interface WireRef {
  scope: string
  owner: string
  name: string
}
/** core.Result */
export interface WireResult {
  env: string
  plan: WirePlan
  warnings?: WireWarning[]
  portMoves?: WirePortMove[]
  localFiles?: string[]
  duration: number
  cleaned?: boolean
}
/** core.Revision */
export interface WireRevision {
  hash: string
  short: string
  author: string
  email?: string
  when: string
  message: string
  tree?: string
  definitionTree?: string
}
/** core.RevisionEntry */
export interface WireRevisionEntry {
  hash: string
  short: string
  author: string
  email?: string
  when: string
  message: string
  tree?: string
  definitionTree?: string
  deployed?: boolean
}
/** core.SecretListing */
export interface WireSecretListing {
  where: string
  secrets: WireSecretStatus[]
}
/** core.SecretSet */
export interface WireSecretSet {
  ref: WireRef
  where: string
  warnings?: string[]
}
/** core.SecretStatus */
export interface WireSecretStatus {
  scope: string
  owner: string
  name: string
  description?: string
  declared: boolean
  required: boolean
  set: boolean
}
/** core.Service */
export interface WireService {
  name: string
  state: string
  health?: string
  image: string
  replicas: number
  containers: WireContainer[]
  ports?: WirePublishedPort[]
}
/** settings.Settings */
export interface WireSettings {
  definitionsDir?: string
  dockerHost?: string
  dockerContext?: string
  fetchInterval?: string
  workspaceKeepDays?: number
  repoTokenEnv?: string
  notes?: boolean
  refuse?: string[]
}
/** settings.View */
export interface WireSettingsView {
  saved: WireSettings
  effective: WireSettings
  overrides?: string[]
  path: string
  error?: string
}
/** api.Shell */
export interface WireShell {
  command: string
  opened: boolean
  terminal?: string
  why?: string
}
/** core.SyncResult */
export interface WireSyncResult {
  env: string
  plan: WirePlan
  warnings?: WireWarning[]
  portMoves?: WirePortMove[]
  localFiles?: string[]
  duration: number
  cleaned?: boolean
  id: number
  restored: WireFileChange[]
  after?: WireDriftReport
}
/** core.Target */
export interface WireTarget {
  context: string
  host: string
  serverVersion?: string
  apiVersion?: string
  error?: string
}
/** core.TrustDecision */
export interface WireTrustDecision {
  id: number
  repo: string
  definition: string
  decision: string
  digest?: string
  capabilities?: WireCapability[]
  how?: string
  who?: string
  decidedAt: string
}
/** core.TrustReview */
export interface WireTrustReview {
  repo: string
  definition: string
  revision?: string
  capabilities: WireCapability[]
  digest: string
  trusted: boolean
  granted?: WireTrustDecision
  revoked?: boolean
  new?: WireCapability[]
  gone?: WireCapability[]
  refused?: WireCapability[]
  blocked?: string[]
}
/** core.Upstream */
export interface WireUpstream {
  branch: string
  head: WireRevision
  behind: number
}
/** core.VariantInfo */
export interface WireVariantInfo {
  name: string
  description?: string
}
/** spec.Warning */
export interface WireWarning {
  file: string
  line?: number
  field: string
  message: string
}
/** api.WatchState */
export interface WireWatchState {
  env: string
  watching: boolean
}
/** core.Who */
export interface WireWho {
  gitName?: string
  gitEmail?: string
  osUser?: string
  host?: string
}

// Each frontend type of src/api/types.ts named as a Go type has its keys.
type Same<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : { frontendOnly: Exclude<keyof A, keyof B>; goOnly: Exclude<keyof B, keyof A> }
export const sameKeys: {
  AdoptResult: Same<T.AdoptResult, WireAdoptResult>
  Await: Same<T.Await, WireAwait>
  Capability: Same<T.Capability, WireCapability>
  Check: Same<T.Check, WireCheck>
  Container: Same<T.Container, WireContainer>
  DBGolden: Same<T.DBGolden, WireDBGolden>
  DBInfo: Same<T.DBInfo, WireDBInfo>
  DBResult: Same<T.DBResult, WireDBResult>
  DBSnapshot: Same<T.DBSnapshot, WireDBSnapshot>
  Definition: Same<T.Definition, WireDefinition>
  DeployPlan: Same<T.DeployPlan, WireDeployPlan>
  DeployResult: Same<T.DeployResult, WireDeployResult>
  Deployment: Same<T.Deployment, WireDeployment>
  DriftReport: Same<T.DriftReport, WireDriftReport>
  Environment: Same<T.Environment, WireEnvironment>
  FileChange: Same<T.FileChange, WireFileChange>
  HealingPause: Same<T.HealingPause, WireHealingPause>
  HistoryFilter: Same<T.HistoryFilter, WireHistoryFilter>
  Listing: Same<T.Listing, WireListing>
  LogRequest: Same<T.LogRequest, WireLogRequest>
  Op: Same<T.Op, WireOp>
  OpenedRepo: Same<T.OpenedRepo, WireOpenedRepo>
  Plan: Same<T.Plan, WirePlan>
  PortMove: Same<T.PortMove, WirePortMove>
  Preflight: Same<T.Preflight, WirePreflight>
  PublishedPort: Same<T.PublishedPort, WirePublishedPort>
  Result: Same<T.Result, WireResult>
  Revision: Same<T.Revision, WireRevision>
  RevisionEntry: Same<T.RevisionEntry, WireRevisionEntry>
  SecretListing: Same<T.SecretListing, WireSecretListing>
  SecretSet: Same<T.SecretSet, WireSecretSet>
  SecretStatus: Same<T.SecretStatus, WireSecretStatus>
  Service: Same<T.Service, WireService>
  Settings: Same<T.Settings, WireSettings>
  SettingsView: Same<Omit<T.SettingsView, 'readOnly'>, WireSettingsView>
  Shell: Same<T.Shell, WireShell>
  SyncResult: Same<T.SyncResult, WireSyncResult>
  Target: Same<T.Target, WireTarget>
  TrustDecision: Same<T.TrustDecision, WireTrustDecision>
  TrustReview: Same<T.TrustReview, WireTrustReview>
  Upstream: Same<T.Upstream, WireUpstream>
  VariantInfo: Same<T.VariantInfo, WireVariantInfo>
  Warning: Same<T.Warning, WireWarning>
  WatchState: Same<T.WatchState, WireWatchState>
  Who: Same<T.Who, WireWho>
} = {
  AdoptResult: true,
  Await: true,
  Capability: true,
  Check: true,
  Container: true,
  DBGolden: true,
  DBInfo: true,
  DBResult: true,
  DBSnapshot: true,
  Definition: true,
  DeployPlan: true,
  DeployResult: true,
  Deployment: true,
  DriftReport: true,
  Environment: true,
  FileChange: true,
  HealingPause: true,
  HistoryFilter: true,
  Listing: true,
  LogRequest: true,
  Op: true,
  OpenedRepo: true,
  Plan: true,
  PortMove: true,
  Preflight: true,
  PublishedPort: true,
  Result: true,
  Revision: true,
  RevisionEntry: true,
  SecretListing: true,
  SecretSet: true,
  SecretStatus: true,
  Service: true,
  Settings: true,
  SettingsView: true,
  Shell: true,
  SyncResult: true,
  Target: true,
  TrustDecision: true,
  TrustReview: true,
  Upstream: true,
  VariantInfo: true,
  Warning: true,
  WatchState: true,
  Who: true,
}
