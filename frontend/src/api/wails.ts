import { ApiError, toError, type BerthAPI } from './client'
import { EVENT_NAME, type BerthEvent, type Listing, type Result } from './types'

/** The bound Go methods of app/desktop.API, as Wails exposes them. */
export interface WailsBoundAPI {
  ListEnvironments(): Promise<Listing>
  Up(env: string): Promise<Result>
  Down(env: string, volumes: boolean): Promise<Result>
}

/** The parts of the window object that Wails' runtime provides. */
export interface WailsWindow {
  go?: { desktop?: { API?: WailsBoundAPI } }
  runtime?: {
    EventsOn(name: string, cb: (...data: unknown[]) => void): () => void
  }
}

/** isWails reports whether the page runs inside the Wails desktop window. */
export function isWails(win: WailsWindow): boolean {
  return Boolean(win.go?.desktop?.API && win.runtime)
}

/**
 * wailsTransport calls the Go methods bound by app/desktop through
 * window.go.desktop.API and listens to events with window.runtime.EventsOn.
 * Wails rejects a call with the Go error's text; it becomes an ApiError.
 */
export function wailsTransport(win: WailsWindow): BerthAPI {
  const bound = (): WailsBoundAPI => {
    const api = win.go?.desktop?.API
    if (!api) throw new ApiError('the desktop bindings are not available')
    return api
  }
  const call = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f()
    } catch (e) {
      throw toError(e)
    }
  }
  return {
    transport: 'wails',
    listEnvironments: () => call(() => bound().ListEnvironments()),
    up: (env) => call(() => bound().Up(env)),
    down: (env, volumes = false) => call(() => bound().Down(env, volumes)),
    onEvent(handler) {
      if (!win.runtime) return () => {}
      return win.runtime.EventsOn(EVENT_NAME, (data) => handler(data as BerthEvent))
    },
  }
}
