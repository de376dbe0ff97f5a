//go:build (production || dev) && linux

// Package nogl keeps GL out of the desktop window's process (see Init).
package nogl

/*
#cgo pkg-config: gtk+-3.0
#cgo webkit2_41 pkg-config: webkit2gtk-4.1
#cgo !webkit2_41 pkg-config: webkit2gtk-4.0
#include <gtk/gtk.h>
#include <webkit2/webkit2.h>

// berthInitWindowProcess starts GTK and creates WebKit's default web
// context, the two steps that set up GL in the window process.
static int berthInitWindowProcess(void) {
	if (!gtk_init_check(NULL, NULL)) return 0;
	webkit_web_context_get_default();
	return 1;
}
*/
import "C"

import (
	"os"
	"runtime"
)

// keepWindowGL names the setting that leaves GL set-up in the window
// process as GTK and WebKit do it by default.
const keepWindowGL = "BERTH_WINDOW_GL"

// Init starts GTK and WebKit's web context in this process with GL hidden
// from them, so that the window process loads no GL driver. Call it on the
// goroutine that then runs the Wails window, before wails.Run.
//
// The window asks WebKit for no hardware acceleration: the web process
// paints the page and hands the window process plain pixels in shared
// memory. Yet by default GTK picks its X11 visuals through GLX when it
// starts, and WebKit's web context opens an EGL display, and each loads the
// GL driver into the window process. With Debian 12's Mesa (one driver
// file for llvmpipe and the hardware drivers, linked to libLLVM) that is
// the driver plus libLLVM: on the bench machine ~0.3 s of the window's
// start and ~22 MB of its memory, for GL the window process never draws
// with.
//
// So GTK starts with GDK_GL=disable, and the web context is made while
// libglvnd sees no EGL vendor; both variables are put back at once. The web
// process, started later when the page loads, inherits the environment as
// it was and sets up its EGL display as usual (WebKit needs one there).
//
// Only X11 is concerned; under Wayland the window process keeps GL. With
// BERTH_WINDOW_GL=1 it keeps GL everywhere (a way out should a driver or
// WebKit version want it). Wails calls gtk_init_check again and uses the
// same default web context.
func Init() {
	if os.Getenv(keepWindowGL) == "1" || !x11Session() {
		return
	}
	// GTK and WebKit belong to the thread that starts them; Wails locks
	// this goroutine to its thread too, a little later.
	runtime.LockOSThread()
	// What Wails does before it starts GTK, done here since GTK starts
	// here now.
	if os.Getenv("GDK_BACKEND") == "" {
		_ = os.Setenv("GDK_BACKEND", "x11")
	}
	defer setFor("GDK_GL", "disable")()
	defer setFor("__EGL_VENDOR_LIBRARY_FILENAMES", os.DevNull+"/no-egl-vendor.json")()
	C.berthInitWindowProcess()
}

// x11Session tells whether GTK will open an X11 display: GDK_BACKEND says
// so, or is unset in a session that is X11 or not named (as Wails decides).
func x11Session() bool {
	if b, ok := os.LookupEnv("GDK_BACKEND"); ok && b != "" {
		return b == "x11"
	}
	switch os.Getenv("XDG_SESSION_TYPE") {
	case "", "unspecified", "x11":
		return true
	}
	return false
}

// setFor sets an environment variable and returns what puts it back.
func setFor(name, value string) (restore func()) {
	old, had := os.LookupEnv(name)
	_ = os.Setenv(name, value)
	return func() {
		if had {
			_ = os.Setenv(name, old)
		} else {
			_ = os.Unsetenv(name)
		}
	}
}
