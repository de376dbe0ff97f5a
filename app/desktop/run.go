package desktop

import (
	"context"
	"errors"
	"io/fs"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/berthdev/berth/app/api"
	"github.com/berthdev/berth/app/desktop/nogl"
	"github.com/berthdev/berth/internal/settings"
)

// Options configure the window.
type Options struct {
	// Core is the core API the window calls.
	Core CoreAPI
	// Icon is the window icon (PNG), shown by window managers on Linux.
	Icon []byte
	// Settings, when set, lets the window read and save the user's settings.
	Settings api.Settings
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
	a := NewAPI(opts.Core, opts.Settings)
	// The first listing overlaps with WebKit's start.
	a.svc.Prefetch(context.Background())
	// Before Wails starts GTK (see nogl.Init).
	nogl.Init()
	a.logf = opts.Logf
	width, height := 1200, 800
	win, remembered, _ := settings.LoadWindow()
	if remembered {
		width, height = max(win.Width, 720), max(win.Height, 480)
	}
	start := options.Normal
	if win.Maximised {
		start = options.Maximised
	}
	return wails.Run(&options.App{
		Title:            "Berth",
		Width:            width,
		Height:           height,
		WindowStartState: start,
		MinWidth:         720,
		MinHeight:        480,
		// The window's colour before the page paints: the dark theme's
		// background, so that start-up does not flash white in dark mode.
		BackgroundColour: &options.RGBA{R: 15, G: 17, B: 21, A: 255},
		AssetServer:      &assetserver.Options{Assets: assets},
		OnStartup:        a.startup,
		OnDomReady: func(ctx context.Context) {
			if remembered && !win.Maximised {
				runtime.WindowSetPosition(ctx, win.X, win.Y)
			}
		},
		// The window remembers its size and place: saved on close, next to
		// the settings file.
		OnBeforeClose: func(ctx context.Context) bool {
			w := settings.Window{Maximised: runtime.WindowIsMaximised(ctx)}
			if w.Maximised {
				w.X, w.Y, w.Width, w.Height = win.X, win.Y, width, height
			} else {
				w.X, w.Y = runtime.WindowGetPosition(ctx)
				w.Width, w.Height = runtime.WindowGetSize(ctx)
			}
			if err := settings.SaveWindow(w); err != nil {
				a.log("saving the window's place: %v", err)
			}
			return false
		},
		OnShutdown: a.shutdown,
		Bind:       []any{a},
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
