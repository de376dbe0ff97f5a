import { toError, type BerthAPI, type BerthEvent, type Listing } from '../../api'

/** One line of the activity log. */
export interface LogEntry {
  id: number
  time: Date
  env: string
  level: 'info' | 'warning' | 'error' | 'success'
  text: string
}

/** What is running on an environment right now, from this window. */
export type Activity = 'up' | 'down'

const MAX_LOG = 500

/**
 * BerthStore holds the state the views show: the listing (target,
 * definitions, environments), what is busy, and the activity log. It is
 * fed by the API's answers and by its progress events: an op finishing
 * triggers a (debounced) refresh so states and counts move live.
 */
export class BerthStore {
  listing = $state<Listing | null>(null)
  loading = $state(false)
  /** Why the last refresh failed (the listing keeps its last value). */
  error = $state<string | null>(null)
  busy = $state<Record<string, Activity>>({})
  log = $state<LogEntry[]>([])

  private nextId = 1
  private refreshTimer: ReturnType<typeof setTimeout> | null = null
  private readonly api: BerthAPI
  private readonly refreshDelay: number

  constructor(api: BerthAPI, opts: { refreshDelay?: number } = {}) {
    this.api = api
    this.refreshDelay = opts.refreshDelay ?? 400
  }

  /** start subscribes to events and loads the listing; returns stop. */
  start(): () => void {
    const off = this.api.onEvent((ev) => this.handleEvent(ev))
    void this.refresh()
    return () => {
      off()
      if (this.refreshTimer) clearTimeout(this.refreshTimer)
    }
  }

  async refresh(): Promise<void> {
    this.loading = true
    try {
      this.listing = await this.api.listEnvironments()
      this.error = null
    } catch (e) {
      this.error = toError(e).message
    } finally {
      this.loading = false
    }
  }

  async up(env: string): Promise<void> {
    await this.run(env, 'up', () => this.api.up(env))
  }

  async down(env: string, volumes = false): Promise<void> {
    await this.run(env, 'down', () => this.api.down(env, volumes))
  }

  private async run(env: string, what: Activity, call: () => Promise<{ plan: { ops: unknown[] | null }; duration: number }>) {
    if (this.busy[env]) return
    this.busy[env] = what
    this.append(env, 'info', what === 'up' ? 'bringing up…' : 'taking down…')
    try {
      const res = await call()
      const ops = res.plan.ops?.length ?? 0
      const secs = (res.duration / 1e9).toFixed(1)
      this.append(env, 'success', ops === 0 ? 'nothing to do' : `${what} done: ${ops} operation${ops === 1 ? '' : 's'} in ${secs}s`)
    } catch (e) {
      this.append(env, 'error', `${what} failed: ${toError(e).message}`)
    } finally {
      delete this.busy[env]
      await this.refresh()
    }
  }

  /** handleEvent turns a progress event into a log line and maybe a refresh. */
  handleEvent(ev: BerthEvent): void {
    const time = ev.time ? new Date(ev.time) : new Date()
    if (ev.kind === 'plan' && ev.plan) {
      const n = ev.plan.ops?.length ?? 0
      this.append(ev.env, 'info', n === 0 ? 'nothing to do' : `plan: ${n} operation${n === 1 ? '' : 's'}`, time)
      return
    }
    if (ev.kind === 'op' && ev.op) {
      const what = `${ev.op.kind} ${ev.op.resource}`
      switch (ev.status) {
        case 'failed':
          this.append(ev.env, 'error', `${what} failed${ev.error ? `: ${ev.error}` : ''}`, time)
          this.scheduleRefresh()
          break
        case 'done':
          this.append(ev.env, 'info', `${what} done`, time)
          this.scheduleRefresh()
          break
        case 'started':
          this.append(ev.env, 'info', `${what}${ev.op.cause ? ` (${ev.op.cause})` : ''}`, time)
          break
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

  private scheduleRefresh() {
    if (this.refreshTimer) return
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null
      void this.refresh()
    }, this.refreshDelay)
  }
}
