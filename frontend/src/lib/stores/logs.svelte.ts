import { toError, type BerthAPI, type LogBatch, type LogLine } from '../../api'

/** A log line as the panel keeps it. */
export interface Line extends LogLine {
  n: number
}

/**
 * LogsStore follows one environment's logs (all services or one) into a
 * bounded buffer. Batches that arrive between two frames are applied
 * together, so a fast stream (1,000 lines/s and more) costs one update per
 * frame.
 */
export class LogsStore {
  lines = $state.raw<Line[]>([])
  env = $state<string | null>(null)
  service = $state('')
  follow = $state(true)
  search = $state('')
  ended = $state<string | null>(null)
  error = $state<string | null>(null)

  readonly max: number
  private id: string | null = null
  private queue: LogLine[] = []
  private scheduled = false
  private n = 0
  private off: (() => void) | null = null
  private opening = false
  private early: LogBatch[] = []
  private readonly api: BerthAPI
  private readonly schedule: (f: () => void) => void

  constructor(api: BerthAPI, opts: { max?: number; schedule?: (f: () => void) => void } = {}) {
    this.api = api
    this.max = opts.max ?? 5000
    this.schedule = opts.schedule ?? ((f) => (typeof requestAnimationFrame === 'function' ? requestAnimationFrame(() => f()) : setTimeout(f, 16)))
  }

  /** The lines that match the search (case-insensitive). */
  get visible(): Line[] {
    const q = this.search.trim().toLowerCase()
    if (!q) return this.lines
    return this.lines.filter((l) => l.text.toLowerCase().includes(q) || l.service.toLowerCase().includes(q))
  }

  async open(env: string, service = ''): Promise<void> {
    await this.close()
    this.env = env
    this.service = service
    this.lines = []
    this.ended = null
    this.error = null
    this.off = this.api.onLog((b) => this.receive(b))
    this.opening = true
    try {
      this.id = await this.api.subscribeLogs({ env, service: service || undefined })
    } catch (e) {
      this.error = toError(e).message
    } finally {
      this.opening = false
      const early = this.early
      this.early = []
      early.forEach((b) => this.receive(b))
    }
  }

  async close(): Promise<void> {
    const id = this.id
    this.id = null
    this.off?.()
    this.off = null
    this.queue = []
    if (id) await this.api.unsubscribeLogs(id).catch(() => {})
  }

  receive(b: LogBatch): void {
    if (this.opening) {
      this.early.push(b) // it may be ours: the id is not known yet
      return
    }
    if (!this.id || b.id !== this.id) return
    this.queue.push(...b.lines)
    if (b.done) this.ended = b.error ?? 'the stream ended'
    if (!this.scheduled) {
      this.scheduled = true
      this.schedule(() => this.flush())
    }
  }

  flush(): void {
    this.scheduled = false
    if (this.queue.length === 0) return
    const add = this.queue.map((l) => ({ ...l, n: this.n++ }))
    this.queue = []
    const next = this.lines.length + add.length > this.max ? [...this.lines, ...add].slice(-this.max) : [...this.lines, ...add]
    this.lines = next
  }

  clear(): void {
    this.lines = []
  }
}
