package desktop

import (
	"errors"
	"io/fs"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
)

// Options configure the window.
type Options struct {
	// Core is the core API the window calls.
	Core CoreAPI
	// Icon is the window icon (PNG), shown by window managers on Linux.
	Icon []byte
	// Logf, when set, logs each API call and its outcome.
	Logf func(format string, args ...any)
}

// ErrNoWindow is returned by Run in a binary built without the Wails
// build tags: Wails then compiles, but cannot open a window.
var ErrNoWindow = errors.New("this binary was built without the desktop window (build it with scripts/build.sh, or use berth ui --web)")

// Run opens the Berth window over assets (the built frontend: index.html
// at its root) and returns when the window is closed.
func Run(assets fs.FS, opts Options) error {
	if !wailsRuns {
		return ErrNoWindow
	}
	if opts.Core == nil {
		return errors.New("desktop: no core API")
	}
	api := NewAPI(opts.Core)
	api.logf = opts.Logf
	return wails.Run(&options.App{
		Title:     "Berth",
		Width:     1200,
		Height:    800,
		MinWidth:  720,
		MinHeight: 480,
		// The window's colour before the page paints: the dark theme's
		// background, so that start-up does not flash white in dark mode.
		BackgroundColour: &options.RGBA{R: 15, G: 17, B: 21, A: 255},
		AssetServer:      &assetserver.Options{Assets: assets},
		OnStartup:        api.startup,
		OnShutdown:       api.shutdown,
		Bind:             []any{api},
		Linux: &linux.Options{
			Icon:        opts.Icon,
			ProgramName: "berth",
			// Hardware acceleration off: it is what Wails picks when no
			// Linux options are given, and it works under Xvfb and on
			// machines with broken GL drivers.
			WebviewGpuPolicy: linux.WebviewGpuPolicyNever,
		},
	})
}
