//go:build production || dev || bindings

package desktop

// wailsRuns is true when Wails is built with a tag that makes wails.Run do
// its work: production (a release window, see scripts/build.sh), dev (wails
// dev) or bindings (the Wails CLI's bindings generator).
const wailsRuns = true
