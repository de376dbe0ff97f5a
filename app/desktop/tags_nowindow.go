//go:build !production && !dev && !bindings

package desktop

// wailsRuns is false without Wails' production, dev or bindings tag:
// wails.Run would only fail with a generic message, so Run says what to do
// instead. Plain `go build`, `go vet` and `go test` take this path, which
// needs neither cgo nor WebKit.
const wailsRuns = false
