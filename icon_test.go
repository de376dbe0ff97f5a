package main

import (
	"image/color"
	"image/png"
	"os"
	"regexp"
	"testing"
)

// TestWindowIcon keeps the window icon small: GTK decodes it and sends it to
// the X server as the window starts, so its size is start-up time and
// memory. main.go (built without the nogui tag) must embed this file.
func TestWindowIcon(t *testing.T) {
	const file = "build/windowicon.png"
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if cfg.Width != cfg.Height || cfg.Width > 256 || cfg.Width < 64 {
		t.Errorf("%s is %dx%d; want a square of 64 to 256 px", file, cfg.Width, cfg.Height)
	}
	if cfg.ColorModel != color.NRGBAModel && cfg.ColorModel != color.RGBAModel {
		t.Errorf("%s: want 8 bits per channel with alpha", file)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^//go:embed ` + regexp.QuoteMeta(file) + `\nvar appIcon `).Match(src) {
		t.Errorf("main.go does not embed %s as appIcon", file)
	}
}
