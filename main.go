//go:build !nogui

// Command berth is Berth's desktop app and command line in one binary:
// with arguments it runs the command line (app/cli); without, it opens the
// desktop window (app/desktop). `go build -tags nogui` leaves the window
// out (see main_nogui.go).
//
// The window needs Wails' build tags and, on Debian 12, WebKitGTK 4.1:
//
//	go build -tags desktop,production,webkit2_41 -o build/bin/berth .
//
// scripts/build.sh builds the frontend first and then does exactly that. A
// plain `go build .` compiles without cgo or WebKit; its window only says
// how to build a real one.
package main

import (
	_ "embed"
	"log"
	"os"

	"github.com/berthdev/berth/app/cli"
	"github.com/berthdev/berth/app/desktop"
	"github.com/berthdev/berth/app/root"
)

// appIcon is the window icon: build/appicon.png (1024 px, 16 bits per
// channel, for packaging) scaled to 256 px at 8 bits. GTK decodes the icon
// and hands it to the X server at start; the full-size one cost ~70 ms of
// start-up and ~6.5 MB of the window process's memory (bench machine).
//
//go:embed build/windowicon.png
var appIcon []byte

func main() {
	cli.Assets = frontendAssets()
	cli.WebServer = serveWeb
	cli.Runner = openWindow
	// Without arguments the command line calls openWindow.
	os.Exit(cli.Main(os.Args[1:]))
}

// openWindow opens the desktop window over the core the command line built
// from its flags ($BERTH_DEFINITIONS and the current Docker context by
// default) and returns when it is closed. With BERTH_DEBUG set it logs each
// API call on standard error.
func openWindow(r *root.Root) error {
	opts := desktop.Options{
		Core:     r.Core(),
		Settings: r,
		Icon:     appIcon,
	}
	if os.Getenv("BERTH_DEBUG") != "" {
		opts.Logf = log.New(os.Stderr, "berth: desktop: ", log.LstdFlags).Printf
	}
	return desktop.Run(frontendAssets(), opts)
}
