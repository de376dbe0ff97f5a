import type { BerthEvent, Listing, Result } from './types'

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
  up(env: string): Promise<Result>
  down(env: string, volumes?: boolean): Promise<Result>
  /** Subscribes to progress events; returns the unsubscribe function. */
  onEvent(handler: (ev: BerthEvent) => void): () => void
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
