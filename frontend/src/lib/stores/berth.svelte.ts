import {
  ApiError,
  toError,
  type TrustReview,
  type BerthAPI,
  type BerthEvent,
  type AdoptResult,
  type Change,
  type DBInfo,
  type DBProgress,
  type DevEvent,
  type Deployment,
  type DriftReport,
  type HealingPause,
  type Environment,
  type HistoryFilter,
  type Listing,
  type Op,
  type Result,
  type RevisionEntry,
} from '../../api'

/** One line of the activity log. */
export interface LogEntry {
  id: number
  time: Date
  env: string
  level: 'info' | 'warning' | 'error' | 'success'
  text: string
}

/** What is running on an environment right now, from this window. */
export type Activity = string

/** The live progress of one operation: its plan and each op's status. */
export interface Progress {
  what: string
  ops: Op[]
  status: Record<number, { status: string; detail?: string; error?: string }>
  done: boolean
  /** Why the operation failed, with the op it failed at when known. */
  error?: string
}

/** A plan waiting for the user's confirmation. */
export interface PendingPlan {
  title: string
  env: string
  action: string
  result: Result
  destructive: boolean
  run: () => Promise<Result>
}

/**
 * A definition waiting for the user's trust before an action runs: its
 * review (what it can do on this machine) and the action to run once
 * granted.
 */
export interface PendingTrust {
  review: TrustReview
  /** The action waiting, for the dialog's title. */
  title: string
  env: string
  /** The revision reviewed ('' : the definitions folder). */
  rev: string
  resume: () => Promise<void>
}


/** updateAvailable reports whether a revision newer than the deployed one touches the definition. */
export function updateAvailable(revs: RevisionEntry[] | undefined): boolean {
  if (!revs || revs.length === 0) return false
  const i = revs.findIndex((r) => r.deployed)
  return i > 0
}

/** oneLine is the first line of a commit message. */
export function oneLine(msg: string): string {
  return msg.split('\n', 1)[0]
}

/** isDestructive reports whether a plan loses a container or data. */
export function isDestructive(r: Result): boolean {
  return (r.plan.ops ?? []).some((op) => op.destructive === true)
}

const MAX_LOG = 500

/**
 * BerthStore holds the state the views show: the listing, the selected
 * environment's details, the engine's state, running operations with their
 * live progress, the plan awaiting confirmation, and the activity log. It
 * is fed by the API's answers and by pushed events: progress
 * ("berth:event") and live state changes ("berth:change"). It never polls.
 */
export class BerthStore {
  listing = $state<Listing | null>(null)
  loading = $state(false)
  /** Why the last refresh failed (the listing keeps its last value). */
  error = $state<string | null>(null)
  /** The engine's state: null until known. */
  engine = $state<{ up: boolean; error?: string } | null>(null)
  selected = $state<string | null>(null)
  /** The user went to the definitions (home): nothing is selected for them. */
  home = $state(false)
  details = $state<Record<string, Environment>>({})
  busy = $state<Record<string, Activity>>({})
  progress = $state<Record<string, Progress>>({})
  pending = $state<PendingPlan | null>(null)
  /** Why asking for a plan failed. */
  planError = $state<string | null>(null)
  log = $state<LogEntry[]>([])
  /** Each environment's revisions, newest first (loaded with its details). */
  revisions = $state<Record<string, RevisionEntry[]>>({})
  /** Why an environment's revisions could not be listed (no repo, ...). */
  revisionsError = $state<Record<string, string>>({})
  /** Each environment's history under its filter, newest first. */
  history = $state<Record<string, Deployment[]>>({})
  historyFilter = $state<Record<string, HistoryFilter>>({})
  historyError = $state<Record<string, string>>({})

  /** Each environment's databases (loaded with its details). */
  databases = $state<Record<string, DBInfo[]>>({})
  /** Why an environment's databases could not be listed (none declared, ...). */
  databasesError = $state<Record<string, string>>({})
  /** The live progress of the database step running on an environment. */
  dbProgress = $state<Record<string, DBProgress & { what: string }>>({})
  /** Why the last database action on an environment failed. */
  dbError = $state<Record<string, string>>({})
  /** Each environment's last drift report (watcher, check, heal). */
  drift = $state<Record<string, DriftReport>>({})
  /** Why an environment's drift could not be checked. */
  driftError = $state<Record<string, string>>({})
  /** Why the last drift action (heal, adopt, discard, pause) failed. */
  driftActionError = $state<Record<string, string>>({})
  /** The commit the last adopt made, per environment. */
  adopted = $state<Record<string, AdoptResult>>({})
  /** Until when healing is paused, per environment. */
  paused = $state<Record<string, HealingPause>>({})
  /** Whether each environment's develop.watch is followed (the Watch toggle). */
  watching = $state<Record<string, boolean>>({})
  /** The last actions of each watched environment, newest last. */
  devEvents = $state<Record<string, DevEvent[]>>({})
  /** Why the Watch toggle of an environment failed. */
  watchError = $state<Record<string, string>>({})
  /** A definition waiting for the user's trust (the review dialog). */
  pendingTrust = $state<PendingTrust | null>(null)
  /** Why the last grant failed. */
  trustError = $state<string | null>(null)
  /** Each environment's definition as reviewed (loaded with its details). */
  trust = $state<Record<string, TrustReview>>({})
  trustReviewError = $state<Record<string, string>>({})

  private nextId = 1
  private shown = false
  private readonly api: BerthAPI
  /** first is the listing asked for when the store was made (see refresh). */
  private first: { asked: number; listing: Promise<Listing> } | null = null

  constructor(api: BerthAPI, opts: { prefetch?: boolean } = {}) {
    this.api = api
    // The first listing is asked for before the page renders its frame:
    // the round trip to Go overlaps the first render instead of following
    // it. The promise is handled by the first refresh.
    if (opts.prefetch) {
      const asked = now()
      const listing = api.listEnvironments()
      listing.catch(() => {})
      this.first = { asked, listing }
    }
  }

  /** start subscribes to events and loads the listing; returns stop. */
  start(): () => void {
    const offs = [this.api.onEvent((ev) => this.handleEvent(ev)), this.api.onChange((c) => this.handleChange(c))]
    void this.refresh()
    void this.loadDriftReports()
    return () => offs.forEach((off) => off())
  }

  async refresh(): Promise<void> {
    this.loading = true
    try {
      const first = this.first
      this.first = null
      const asked = first ? first.asked : now()
      const l = await (first ? first.listing : this.api.listEnvironments())
      const answered = now()
      this.listing = l
      this.error = null
      this.engine = l.target.error ? { up: false, error: l.target.error } : { up: true }
      if (this.selected && !l.environments.some((e) => e.name === this.selected)) this.selected = null
      if (!this.selected && !this.home && l.environments.length > 0) this.selected = l.environments[0].name
      if (this.selected) void this.loadDetail(this.selected)
      this.reportShown(asked, answered)
    } catch (e) {
      this.error = toError(e).message
    } finally {
      this.loading = false
    }
  }

  /**
   * reportShown tells the app, once, when the first listing is on screen:
   * two animation frames after it was set, the frame that draws it has been
   * produced.
   */
  private reportShown(asked: number, answered: number): void {
    if (this.shown || !this.api.shown || typeof requestAnimationFrame !== 'function') return
    this.shown = true
    requestAnimationFrame(() => requestAnimationFrame(() => this.api.shown?.(startupMarks(asked, answered, now()))))
  }

  /** goHome shows the definitions, with no environment selected. */
  goHome(): void {
    this.home = true
    this.selected = null
  }

  select(env: string): void {
    this.home = false
    this.selected = env
    void this.loadDetail(env)
  }

  async loadDetail(env: string): Promise<void> {
    // Revisions are read again each time: the branch may have moved.
    void this.loadRevisions(env)
    void this.loadHistory(env)
    void this.loadDatabases(env)
    void this.loadTrust(env)
    void this.checkDrift(env)
    void this.loadWatch(env)
    try {
      this.details[env] = await this.api.status(env)
    } catch {
      // gone or engine down: the listing and the banner say so
    }
  }

  async loadRevisions(env: string): Promise<void> {
    try {
      this.revisions[env] = await this.api.revisions(env)
      delete this.revisionsError[env]
    } catch (e) {
      this.revisionsError[env] = toError(e).message
      delete this.revisions[env]
    }
  }

  /** loadHistory reloads env's history, under filter when given (kept for later reloads). */
  async loadHistory(env: string, filter?: HistoryFilter): Promise<void> {
    if (filter) this.historyFilter[env] = filter
    try {
      this.history[env] = await this.api.history(env, this.historyFilter[env] ?? {})
      delete this.historyError[env]
    } catch (e) {
      this.historyError[env] = toError(e).message
    }
  }

  /** loadDriftReports takes the drift watcher's last reports (the badges of a page opened late). */
  async loadDriftReports(): Promise<void> {
    try {
      for (const r of await this.api.driftReports()) this.drift[r.env] = r
    } catch {
      // the next reports arrive as changes
    }
  }

  async loadDatabases(env: string): Promise<void> {
    try {
      this.databases[env] = await this.api.databases(env)
      delete this.databasesError[env]
    } catch (e) {
      this.databasesError[env] = toError(e).message
      delete this.databases[env]
    }
  }

  /** loadWatch reads whether env's develop.watch is followed. */
  async loadWatch(env: string): Promise<void> {
    try {
      this.watching[env] = (await this.api.watchStatus(env)).watching
    } catch {
      // not known: the toggle shows off
    }
  }

  /** toggleWatch starts or stops following env's develop.watch. */
  async toggleWatch(env: string): Promise<void> {
    const on = !this.watching[env]
    delete this.watchError[env]
    try {
      this.watching[env] = (await this.api.setWatch(env, on)).watching
    } catch (e) {
      this.watchError[env] = `watch failed: ${toError(e).message}`
      this.append(env, 'error', this.watchError[env])
    }
  }

  /** checkDrift checks env's drift now. */
  async checkDrift(env: string): Promise<void> {
    try {
      this.drift[env] = await this.api.check(env)
      delete this.driftError[env]
    } catch (e) {
      this.driftError[env] = toError(e).message
    }
    try {
      this.paused[env] = await this.api.healingPaused(env)
    } catch {
      // not known: the switch shows as not paused
    }
  }

  /** drifted reports whether env's last drift report found drift (unknown counts as not known, not drifted). */
  drifted(env: string): boolean {
    const r = this.drift[env]
    return Boolean(r && !r.inSync && !r.unknown)
  }

  /** driftSummaries names the drifted environments with a one-line summary each (for the list's badges). */
  driftSummaries(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [env, r] of Object.entries(this.drift)) {
      if (r.inSync || r.unknown) continue
      const parts: string[] = []
      const n = (k: number, one: string, many: string) => k > 0 && parts.push(`${k} ${k === 1 ? one : many}`)
      n(r.runtime?.length ?? 0, 'runtime difference', 'runtime differences')
      n(r.files?.length ?? 0, 'edited file', 'edited files')
      n(r.upstream?.behind ?? 0, 'commit behind', 'commits behind')
      n(r.local?.length ?? 0, 'local change', 'local changes')
      out[env] = parts.join(', ') || 'drifted'
    }
    return out
  }

  /** The selected environment: its details when loaded, else its summary. */
  get current(): Environment | null {
    if (!this.selected) return null
    return this.details[this.selected] ?? this.listing?.environments.find((e) => e.name === this.selected) ?? null
  }

  handleChange(c: Change): void {
    if (c.kind === 'engine' && c.engine) {
      const wasDown = this.engine && !this.engine.up
      this.engine = { up: c.engine.up, error: c.engine.error }
      if (c.engine.up && (wasDown || this.listing === null || this.listing.target.error)) void this.refresh()
      return
    }
    if (c.kind === 'repo' && c.repo) {
      if (c.repo.error) {
        this.append('', 'warning', `definitions repo: ${c.repo.error}`)
      } else if (c.repo.moved) {
        // The branch may have moved: reload the revisions shown.
        for (const env of Object.keys(this.revisions)) void this.loadRevisions(env)
        if (this.selected && !(this.selected in this.revisions)) void this.loadRevisions(this.selected)
      } else {
        this.append('', 'info', 'definitions repo: fetching works again')
      }
      return
    }
    if (c.kind === 'develop' && c.develop && c.env) {
      const ev = c.develop
      if (ev.action === 'watching') this.watching[c.env] = true
      if (ev.action === 'stopped') this.watching[c.env] = false
      if (!this.devEvents[c.env]) this.devEvents[c.env] = []
      const list = this.devEvents[c.env] // the state's proxy, not the array put in
      list.push(ev)
      if (list.length > MAX_DEV_EVENTS) list.splice(0, list.length - MAX_DEV_EVENTS)
      if (ev.action !== 'watching' && ev.action !== 'stopped') this.append(c.env, ev.action === 'error' ? 'error' : 'info', devText(ev))
      return
    }
    if (c.kind === 'drift' && c.drift && c.env) {
      this.drift[c.env] = c.drift
      delete this.driftError[c.env]
      return
    }
    if (c.kind === 'removed' && c.env) delete this.drift[c.env]
    if (!this.listing || !c.env) return
    const envs = this.listing.environments
    const i = envs.findIndex((e) => e.name === c.env)
    if (c.kind === 'removed') {
      if (i >= 0) envs.splice(i, 1)
      delete this.details[c.env]
      return
    }
    if (c.kind === 'environment' && c.environment) {
      if (i >= 0) envs[i] = c.environment
      else {
        envs.push(c.environment)
        envs.sort((a, b) => a.name.localeCompare(b.name))
      }
      this.details[c.env] = c.environment
      if (!this.selected) this.selected = c.env
    }
  }

  // Actions. Each asks for the plan first; destructive plans (and new
  // environments) wait for confirm(), others run at once.

  /** definitionOf is the definition env comes from (its own name when unknown). */
  private definitionOf(env: string): string {
    return this.listing?.environments.find((x) => x.name === env)?.definition || env
  }

  async up(env: string): Promise<void> {
    const def = this.definitionOf(env)
    await this.ask({ title: `Up ${env}`, env, action: 'up', always: false, trust: { definition: def } }, () => this.api.plan(def, env), () => this.api.up(env))
  }

  /**
   * newEnvironment makes env from definition as variant ('' : none),
   * first storing the secrets the dialog was given for the definition.
   */
  async newEnvironment(definition: string, name: string, variant = '', secrets: Record<string, string> = {}): Promise<void> {
    const env = name.trim() || definition
    for (const [secret, value] of Object.entries(secrets)) {
      try {
        await this.api.setSecret(definition, secret, value)
      } catch (e) {
        this.error = `setting secret ${secret}: ${e instanceof Error ? e.message : String(e)}`
        return
      }
    }
    const title = `New environment ${env} from ${definition}${variant ? ` (${variant})` : ''}`
    await this.ask(
      { title, env, action: 'up', always: true, trust: { definition } },
      () => this.api.plan(definition, env, variant),
      () => this.api.up(env, definition, variant),
    )
  }

  async down(env: string, volumes = false): Promise<void> {
    await this.ask(
      { title: volumes ? `Down ${env} and remove its volumes` : `Down ${env}`, env, action: 'down', always: true },
      () => this.api.planDown(env, volumes),
      () => this.api.down(env, volumes),
    )
  }

  async recreate(env: string, service: string): Promise<void> {
    await this.ask(
      { title: `Recreate ${service} of ${env}`, env, action: `recreate ${service}`, always: true, trust: { definition: this.definitionOf(env) } },
      () => this.api.planRecreate(env, service),
      () => this.api.recreate(env, service),
    )
  }

  /** deploy shows the plan of deploying rev to env, and deploys it once confirmed. */
  async deploy(env: string, rev: RevisionEntry): Promise<void> {
    await this.ask(
      { title: `Deploy ${rev.short} to ${env}: ${oneLine(rev.message)}`, env, action: `deploy ${rev.short}`, always: true, trust: { definition: this.definitionOf(env), rev: rev.hash } },
      async () => (await this.api.planDeploy(env, rev.hash)).result,
      () => this.api.deploy(env, rev.hash),
    )
  }

  /** rollback shows the plan of rolling env back to its last good revision, and runs it once confirmed. */
  async rollback(env: string): Promise<void> {
    let title = `Roll back ${env}`
    let to = ''
    await this.ask(
      { title, env, action: 'rollback', always: true },
      async () => {
        const p = await this.api.planRollback(env)
        to = p.revision.hash
        title = `Roll back ${env} to ${p.revision.short}: ${oneLine(p.revision.message)}`
        return p.result
      },
      () => this.api.rollback(env, to),
    )
    if (this.pending && this.pending.env === env && this.pending.action === 'rollback') this.pending.title = title
  }

  // Databases. Restore, reset and remove are confirmed in the view first.

  dbClone(env: string, service = '', from = ''): Promise<void> {
    return this.runDB(env, `db clone${service ? ` ${service}` : ''}`, () => this.api.dbClone(env, service, from))
  }

  dbSnapshot(env: string, service = '', name = ''): Promise<void> {
    return this.runDB(env, `db snapshot${name ? ` ${name}` : ''}`, () => this.api.dbSnapshot(env, service, name))
  }

  dbRestore(env: string, snapshot: string): Promise<void> {
    return this.runDB(env, `db restore ${snapshot}`, () => this.api.dbRestore(env, snapshot))
  }

  dbReset(env: string, service = ''): Promise<void> {
    return this.runDB(env, `db reset${service ? ` ${service}` : ''}`, () => this.api.dbReset(env, service))
  }

  dbRemove(env: string, snapshot: string): Promise<void> {
    return this.runDB(env, `db rm ${snapshot}`, () => this.api.dbRemove(env, snapshot))
  }

  private async runDB(env: string, what: string, call: () => Promise<unknown>): Promise<void> {
    if (this.busy[env]) return
    this.busy[env] = what
    delete this.dbError[env]
    this.dbProgress[env] = { what, service: '', step: 'starting' }
    this.append(env, 'info', `${what}…`)
    try {
      const res = (await call()) as { duration?: number; strategy?: string } | undefined
      const how = res?.strategy ? ` (${res.strategy})` : ''
      const secs = res?.duration ? ` in ${(res.duration / 1e9).toFixed(1)}s` : ''
      this.append(env, 'success', `${what} done${how}${secs}`)
    } catch (e) {
      const msg = toError(e).message
      this.dbError[env] = `${what} failed: ${msg}`
      this.append(env, 'error', this.dbError[env])
    } finally {
      delete this.busy[env]
      delete this.dbProgress[env]
      await this.loadDatabases(env)
    }
  }

  // Drift.

  /** heal shows the plan that heals env (and the files it puts back), and heals it once confirmed. */
  async heal(env: string): Promise<void> {
    let title = `Heal ${env}`
    await this.ask(
      { title, env, action: 'heal', always: true },
      async () => {
        const p = await this.api.planSync(env)
        const n = p.restored?.length ?? 0
        if (n > 0) title = `Heal ${env}: put back ${n} workspace file${n === 1 ? '' : 's'} (${p.restored!.map((f) => f.path).join(', ')}) and apply the plan`
        return p
      },
      async () => {
        const res = await this.api.sync(env)
        if (res.after) this.drift[env] = res.after
        return res
      },
    )
    if (this.pending && this.pending.env === env && this.pending.action === 'heal') this.pending.title = title
  }

  /** adopt commits env's drift on a new branch and keeps the commit to show. */
  adopt(env: string, branch = ''): Promise<void> {
    return this.driftAction(env, 'adopt', async () => {
      const res = await this.api.adopt(env, branch.trim())
      this.adopted[env] = res
      this.append(env, 'success', `adopted as ${res.commit.short} on branch ${res.branch} (not pushed)`)
    })
  }

  /** discard puts env's edited workspace files back (the view confirmed it). */
  discard(env: string): Promise<void> {
    return this.driftAction(env, 'discard', async () => {
      const files = await this.api.discard(env)
      this.append(env, 'success', `put back ${files.length} file${files.length === 1 ? '' : 's'}`)
    })
  }

  /** pauseHealing pauses automatic healing of env for minutes (0 resumes). */
  async pauseHealing(env: string, minutes: number): Promise<void> {
    delete this.driftActionError[env]
    try {
      this.paused[env] = await this.api.pauseHealing(env, minutes)
      this.append(env, 'info', minutes > 0 ? `healing paused for ${minutes} min` : 'healing resumed')
    } catch (e) {
      this.driftActionError[env] = `pause healing failed: ${toError(e).message}`
    }
  }

  private async driftAction(env: string, what: string, call: () => Promise<void>): Promise<void> {
    if (this.busy[env]) return
    this.busy[env] = what
    delete this.driftActionError[env]
    try {
      await call()
    } catch (e) {
      this.driftActionError[env] = `${what} failed: ${toError(e).message}`
      this.append(env, 'error', this.driftActionError[env])
    } finally {
      delete this.busy[env]
      await this.checkDrift(env)
    }
  }

  async confirm(): Promise<void> {
    const p = this.pending
    if (!p) return
    this.pending = null
    await this.run(p.env, p.action, p.run)
  }

  cancel(): void {
    this.pending = null
  }

  /**
   * ask runs an action: the definition's trust first (the review dialog
   * when it is not trusted yet), then the plan; destructive plans (and new
   * environments) wait for confirm(), others run at once.
   */
  private async ask(
    o: { title: string; env: string; action: string; always: boolean; trust?: { definition: string; rev?: string } },
    plan: () => Promise<Result>,
    run: () => Promise<Result>,
  ): Promise<void> {
    if (this.busy[o.env]) return
    this.planError = null
    const resume = () => this.ask(o, plan, run)
    if (o.trust) {
      let review: TrustReview
      try {
        review = await this.api.reviewTrust(o.trust.definition, o.trust.rev ?? '')
      } catch (e) {
        this.planError = `${o.title}: ${toError(e).message}`
        this.append(o.env, 'error', this.planError)
        return
      }
      if (!review.trusted) {
        this.pendingTrust = { review, title: o.title, env: o.env, rev: o.trust.rev ?? '', resume }
        return
      }
    }
    let result: Result
    try {
      result = await plan()
    } catch (e) {
      // Not reviewed before (a rollback's target): the answer carries the review.
      if (e instanceof ApiError && e.trust && !e.trust.trusted) {
        this.pendingTrust = { review: e.trust, title: o.title, env: o.env, rev: e.trust.revision ?? '', resume }
        return
      }
      this.planError = `${o.title}: ${toError(e).message}`
      this.append(o.env, 'error', this.planError)
      return
    }
    const destructive = isDestructive(result)
    if (o.always || destructive) {
      this.pending = { title: o.title, env: o.env, action: o.action, result, destructive, run }
      return
    }
    await this.run(o.env, o.action, run)
  }

  private async run(env: string, what: string, call: () => Promise<Result>) {
    if (this.busy[env]) return
    this.busy[env] = what
    this.progress[env] = { what, ops: [], status: {}, done: false }
    this.append(env, 'info', `${what}…`)
    try {
      const res = await call()
      const ops = res.plan.ops?.length ?? 0
      const secs = (res.duration / 1e9).toFixed(1)
      this.append(env, 'success', ops === 0 ? 'nothing to do' : `${what} done: ${ops} operation${ops === 1 ? '' : 's'} in ${secs}s`)
      if (this.progress[env]) this.progress[env].done = true
      if (!this.selected) this.selected = env
    } catch (e) {
      const msg = toError(e).message
      this.append(env, 'error', `${what} failed: ${msg}`)
      if (this.progress[env]) {
        this.progress[env].done = true
        this.progress[env].error = msg
      }
    } finally {
      delete this.busy[env]
      // refresh reloads the selected environment's revisions and history,
      // where what ran now shows.
      await this.refresh()
    }
  }

  /**
   * grantTrust grants what the pending review shows, then runs the action
   * that waited. A grant that lets the definition read more (files outside
   * its folder) may show more to grant: the dialog then shows that.
   */
  async grantTrust(): Promise<void> {
    const p = this.pendingTrust
    if (!p) return
    this.trustError = null
    try {
      const r = await this.api.trust(p.review.definition, p.rev, p.review.digest)
      if (!r.trusted) {
        this.pendingTrust = { ...p, review: r }
        return
      }
      this.append(p.env, 'info', `trusted ${p.review.definition}: ${p.review.capabilities.length} capabilit${p.review.capabilities.length === 1 ? 'y' : 'ies'} granted`)
    } catch (e) {
      this.trustError = toError(e).message
      return
    }
    this.pendingTrust = null
    void this.loadTrust(p.env)
    await p.resume()
  }

  cancelTrust(): void {
    this.pendingTrust = null
    this.trustError = null
  }

  /** loadTrust reviews env's definition (at its deployed revision, when known). */
  async loadTrust(env: string): Promise<void> {
    const e = this.listing?.environments.find((x) => x.name === env)
    try {
      this.trust[env] = await this.api.reviewTrust(this.definitionOf(env), e?.revision ?? '')
      delete this.trustReviewError[env]
    } catch (err) {
      this.trustReviewError[env] = toError(err).message
    }
  }

  /** revokeTrust takes the grants of env's definition back. */
  async revokeTrust(env: string): Promise<void> {
    const e = this.listing?.environments.find((x) => x.name === env)
    try {
      await this.api.revokeTrust(this.definitionOf(env), e?.revision ?? '')
      this.append(env, 'info', `revoked the trust of ${this.definitionOf(env)}: its next action asks again`)
    } catch (err) {
      this.trustReviewError[env] = toError(err).message
    }
    await this.loadTrust(env)
  }

  dismissProgress(env: string): void {
    delete this.progress[env]
  }

  /** handleEvent records an operation's progress and logs it. */
  handleEvent(ev: BerthEvent): void {
    const time = ev.time ? new Date(ev.time) : new Date()
    if (ev.kind === 'db' && ev.db) {
      const prev = this.dbProgress[ev.env]
      if (!prev || prev.step !== ev.db.step) this.append(ev.env, 'info', `${ev.db.service}: ${ev.db.step}`, time)
      this.dbProgress[ev.env] = { what: prev?.what ?? 'database', ...ev.db }
      return
    }
    const p = this.progress[ev.env]
    if (ev.kind === 'plan' && ev.plan) {
      if (p) p.ops = ev.plan.ops ?? []
      const n = ev.plan.ops?.length ?? 0
      this.append(ev.env, 'info', n === 0 ? 'nothing to do' : `plan: ${n} operation${n === 1 ? '' : 's'}`, time)
      return
    }
    if (ev.kind === 'op' && ev.op) {
      if (p) {
        if (!p.ops.some((o) => o.id === ev.op!.id)) p.ops.push(ev.op)
        p.status[ev.op.id] = { status: ev.status ?? '', detail: ev.detail, error: ev.error }
      }
      const what = `${ev.op.kind} ${ev.op.resource}`
      switch (ev.status) {
        case 'failed':
          this.append(ev.env, 'error', `${what} failed${ev.error ? `: ${ev.error}` : ''}`, time)
          break
        case 'done':
          this.append(ev.env, 'info', `${what} done`, time)
          break
        case 'started':
          this.append(ev.env, 'info', `${what}${ev.op.cause ? ` (${ev.op.cause})` : ''}`, time)
          break
        case 'progress':
          break // shown in place, too chatty for the log
        default:
          this.append(ev.env, 'info', `${what}: ${ev.status ?? ''}${ev.detail ? ` ${ev.detail}` : ''}`, time)
      }
      return
    }
    const level = ev.kind === 'warning' ? 'warning' : ev.error ? 'error' : 'info'
    this.append(ev.env, level, ev.detail || ev.error || ev.kind, time)
  }

  clearLog(): void {
    this.log = []
  }

  private append(env: string, level: LogEntry['level'], text: string, time = new Date()) {
    this.log.push({ id: this.nextId++, time, env, level, text })
    if (this.log.length > MAX_LOG) this.log.splice(0, this.log.length - MAX_LOG)
  }
}

/** How many actions of a watched environment are kept. */
const MAX_DEV_EVENTS = 50

/** devText renders a watch action as the CLI prints it. */
export function devText(ev: DevEvent): string {
  switch (ev.action) {
    case 'synced':
    case 'deleted':
      return `${ev.action} ${ev.service}: ${ev.path} → ${ev.target}`
    case 'restarted':
    case 'rebuilt':
      return `${ev.action} ${ev.service}${ev.detail ? ` (${ev.detail})` : ''}`
    case 'error':
      return `error${ev.service ? ` ${ev.service}` : ''}: ${ev.detail ?? ''}`
  }
  return `${ev.action}${ev.detail ? `: ${ev.detail}` : ''}`
}

/** now is milliseconds since the page's navigation started. */
function now(): number {
  return typeof performance === 'undefined' ? 0 : Math.round(performance.now())
}

let firstFrame: number | undefined

/** markFirstFrame records when the page's first frame was produced. */
export function markFirstFrame(): void {
  firstFrame ??= now()
}

/**
 * startupMarks are the page's start-up times in milliseconds since its
 * navigation started: the document loaded and parsed, the first listing
 * asked for and answered, the first frame (whatever it showed) and the frame
 * that shows the listing produced.
 */
export function startupMarks(asked: number, answered: number, shown: number): Record<string, number> {
  const marks: Record<string, number> = { listingAsked: asked, listingAnswered: answered, shown }
  if (firstFrame !== undefined) marks.firstFrame = firstFrame
  const nav = typeof performance === 'undefined' ? undefined : (performance.getEntriesByType?.('navigation')[0] as PerformanceNavigationTiming | undefined)
  if (nav) {
    marks.responseEnd = Math.round(nav.responseEnd)
    marks.domInteractive = Math.round(nav.domInteractive)
  }
  return marks
}
