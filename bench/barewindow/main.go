//go:build !nogui

// Command barewindow is the peer of the desktop window in `make bench`: a
// Wails window opened the way Berth opens its own (size, background, no
// hardware acceleration, no GL in the window process: app/desktop/nogl),
// showing an empty page, with none of Berth's code behind it. Its start-up
// time and idle memory are what the toolkit costs before Berth adds
// anything; the ui section prints Berth's figures against them.
//
// The bench builds it with Wails' tags:
//
//	go build -tags desktop,production,webkit2_41 ./bench/barewindow
//
// When the page has produced its second frame it calls Shown, which logs a
// line the bench waits for, in the form the desktop app logs its own.
package main

import (
	"embed"
	"fmt"
	"io/fs"
	"os"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"

	"github.com/berthdev/berth/app/desktop/nogl"
)

//go:embed page
var page embed.FS

// Page is bound to the page, which reports its first frame.
type Page struct{}

// Shown logs the page's marks (ms since its navigation started).
func (*Page) Shown(domInteractive, firstFrame int) {
	fmt.Fprintf(os.Stderr, "Shown: the empty page's first frame (page marks: domInteractive=%dms firstFrame=%dms)\n", domInteractive, firstFrame)
}

func main() {
	assets, err := fs.Sub(page, "page")
	if err != nil {
		fmt.Fprintln(os.Stderr, "barewindow:", err)
		os.Exit(1)
	}
	nogl.Init()
	err = wails.Run(&options.App{
		Title:            "Empty window",
		Width:            1200,
		Height:           800,
		MinWidth:         720,
		MinHeight:        480,
		BackgroundColour: &options.RGBA{R: 15, G: 17, B: 21, A: 255},
		AssetServer:      &assetserver.Options{Assets: assets},
		Bind:             []any{&Page{}},
		Linux: &linux.Options{
			ProgramName:      "barewindow",
			WebviewGpuPolicy: linux.WebviewGpuPolicyNever,
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "barewindow:", err)
		os.Exit(1)
	}
}
