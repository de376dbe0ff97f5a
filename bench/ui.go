package main

// The "ui" section: issue 3's performance targets for the desktop app and
// its UI. Binary sizes; cold start of the real desktop binary under a
// private Xvfb to its first listing answered and painted; idle memory of
// its process tree (Go + WebKit processes), each against the same window
// with an empty page and none of Berth's code (bench/barewindow, built and
// run here); the web mode's page under a stream of events in headless
// chromium (ui_load.go).

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	uiRuns  = flag.Int("ui-runs", 5, "cold starts of the desktop window (after one uncounted first run)")
	uiIdle  = flag.Duration("ui-idle", 5*time.Second, "idle time after the first listing before measuring memory")
	uiLoad  = flag.Duration("ui-load", 10*time.Second, "how long the UI receives the event stream")
	uiRate  = flag.Int("ui-rate", 1000, "events per second of the stream")
	uiBuild = flag.Bool("ui-build", false, "rebuild build/bin/berth with scripts/build.sh first (default: only when missing)")
)

const (
	screenW, screenH = 1200, 800 // the window's size (app/desktop)
	mb               = 1e6       // figures are in MB of 10^6 bytes
)

func benchUI(repo string) {
	fmt.Println("desktop app and UI (issue 3's performance targets; MB = 10^6 bytes)")
	fmt.Printf("  machine: %d cores, load average at start %s (other work running now weighs on every figure below)\n", runtime.NumCPU(), loadAvg())
	bin := filepath.Join(repo, "build", "bin", "berth")
	if _, err := os.Stat(bin); err != nil || *uiBuild {
		fmt.Fprintln(os.Stderr, "bench: building the desktop binary (scripts/build.sh)")
		build := exec.Command(filepath.Join(repo, "scripts", "build.sh"))
		build.Dir, build.Stdout, build.Stderr = repo, os.Stderr, os.Stderr
		check(build.Run())
	}

	// 1. Sizes.
	st, err := os.Stat(bin)
	check(err)
	fmt.Printf("  binary size   desktop  %6.1f MB   target <= 25 MB   %s   (build/bin/berth, built %s)\n",
		float64(st.Size())/mb, verdict(float64(st.Size()) <= 25*mb), st.ModTime().Format("2006-01-02 15:04"))
	tmp, err := os.MkdirTemp("", "berth-bench-ui-")
	check(err)
	defer os.RemoveAll(tmp)
	cli := filepath.Join(tmp, "berth-cli")
	build := exec.Command("go", "build", "-tags", "nogui", "-trimpath", "-ldflags", "-s -w", "-o", cli, ".")
	build.Dir = repo
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Printf("                CLI only   FAILED to build: %v: %s\n", err, firstLines(string(out), 3))
	} else if cst, err := os.Stat(cli); err == nil {
		fmt.Printf("                CLI only %6.1f MB   (make cli: no cgo, no WebKit; no target)\n", float64(cst.Size())/mb)
	}

	// 2 and 3. Cold start and idle memory of the real window.
	if missing := missingTools("Xvfb", "import"); missing != "" {
		fmt.Printf("  cold start and idle memory: skipped, %s not on PATH (apt-get install xvfb imagemagick)\n", missing)
	} else if *uiRuns > 0 {
		if err := benchWindow(repo, bin, tmp); err != nil {
			fmt.Printf("  cold start and idle memory: FAILED: %v\n", err)
		}
	}

	// 4. The UI under load.
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		fmt.Println("  UI under load: skipped, chromium is not on PATH")
	} else {
		benchUIUnderLoad(repo, chromium)
	}
	fmt.Printf("  load average at the end %s\n", loadAvg())
	fmt.Println("  peers (not measured here): Docker Desktop / Podman Desktop idle: hundreds of MB to GBs (their documentation)")
	fmt.Println()
}

// loadAvg is /proc/loadavg's 1, 5 and 15 minute figures.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func missingTools(names ...string) string {
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			return n
		}
	}
	return ""
}

// windowRun is one start of the desktop binary.
type windowRun struct {
	listed  time.Duration // exec to "ListEnvironments:" logged
	shown   time.Duration // exec to "Shown:" logged (the page, two frames after setting the listing)
	marks   string        // the page's own start-up marks (ms since its navigation started)
	painted time.Duration // exec to the end of the first non-blank screenshot taken after it
	line    string        // the log line
	mem     treeMemory
}

func benchWindow(repo, bin, tmp string) error {
	display, stopX, err := startXvfb(screenW, screenH)
	if err != nil {
		return err
	}
	defer stopX()
	defs := filepath.Join(repo, "environments")
	if d := os.Getenv("BERTH_DEFINITIONS"); d != "" {
		defs = d
	}
	app := windowSpec{bin: bin, env: []string{"BERTH_DEBUG=1", "BERTH_DEFINITIONS=" + defs}, listing: true}
	first, runs, err := startWindows(app, display)
	if err != nil {
		return err
	}
	listed := medianOf(runs, func(r windowRun) time.Duration { return r.listed })
	shown := medianOf(runs, func(r windowRun) time.Duration { return r.shown })
	painted := medianOf(runs, func(r windowRun) time.Duration { return r.painted })
	fmt.Printf("  cold start of the window, median of %d (page cache warm; the first run, not counted: listed %.2f s, shown %.2f s, screenshot %.2f s)\n",
		len(runs), first.listed.Seconds(), first.shown.Seconds(), first.painted.Seconds())
	fmt.Printf("    exec to first listing answered  %5.2f s   (BERTH_DEBUG log: %s)\n", listed.Seconds(), first.line)
	fmt.Printf("    exec to data on screen          %5.2f s   target <= 1.5 s   %s   (the page reports it two animation frames after setting the listing: the frame that draws it was produced)\n",
		shown.Seconds(), verdict(shown <= 1500*time.Millisecond))
	fmt.Printf("    exec to a screenshot showing it %5.2f s   (first non-blank screenshot after the report; an upper bound: a screenshot takes ~0.2 s)\n",
		painted.Seconds())
	fmt.Printf("    the page's marks, last run      %s   (ms since its navigation started; exec to navigation is WebKit's start)\n", runs[len(runs)-1].marks)

	last := runs[len(runs)-1].mem
	fmt.Printf("  idle memory of the app process tree, %s after the first listing, median of %d (processes: %s)\n",
		*uiIdle, len(runs), last.describe())
	pss, rss, private := medianMemory(runs)
	fmt.Printf("    PSS  %6.1f MB   target <= 200 MB   %s%s\n", pss/mb, verdict(pss <= 200*mb), last.pssNote())
	fmt.Printf("    RSS  %6.1f MB   (counts shared libraries once per process)\n", rss/mb)
	fmt.Printf("    USS  %6.1f MB   (pages mapped by one process of the tree only: what ending the app frees for sure)\n", private/mb)

	// The peer: the same window with an empty page and no Berth behind it.
	bare := filepath.Join(tmp, "barewindow")
	build := exec.Command("go", "build", "-tags", "desktop,production,webkit2_41", "-trimpath", "-ldflags", "-s -w", "-o", bare, "./bench/barewindow")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building bench/barewindow: %v: %s", err, firstLines(string(out), 3))
	}
	_, peer, err := startWindows(windowSpec{bin: bare}, display)
	if err != nil {
		return fmt.Errorf("the empty window: %w", err)
	}
	pShown := medianOf(peer, func(r windowRun) time.Duration { return r.shown })
	pPSS, _, pPrivate := medianMemory(peer)
	fmt.Printf("  peer: the same window with an empty page and none of Berth's code (bench/barewindow: Wails, Berth's window options, no GL in the window process), median of %d\n", len(peer))
	fmt.Printf("    exec to its first frame         %5.2f s   Berth's data on screen: %.2fx (+%.2f s)   (page marks, last run: %s)\n",
		pShown.Seconds(), shown.Seconds()/pShown.Seconds(), (shown - pShown).Seconds(), peer[len(peer)-1].marks)
	fmt.Printf("    idle PSS, %s after it       %6.1f MB   Berth: %.2fx (+%.1f MB: Berth's code, data and page)   (processes: %s)\n",
		*uiIdle, pPSS/mb, pss/pPSS, (pss-pPSS)/mb, peer[len(peer)-1].mem.describe())
	fmt.Printf("    idle USS                      %6.1f MB   Berth: %.2fx (+%.1f MB)\n", pPrivate/mb, private/pPrivate, (private-pPrivate)/mb)
	return nil
}

// startWindows starts spec's window once uncounted (it warms the page
// cache), then *uiRuns times.
func startWindows(spec windowSpec, display string) (first windowRun, runs []windowRun, err error) {
	fmt.Fprintf(os.Stderr, "bench: cold starts of %s on display %s (1 first run + %d)\n", spec.bin, display, *uiRuns)
	if first, err = startWindow(spec, display, *uiIdle); err != nil {
		return first, nil, err
	}
	for i := 0; i < *uiRuns; i++ {
		r, err := startWindow(spec, display, *uiIdle)
		if err != nil {
			return first, nil, err
		}
		runs = append(runs, r)
	}
	return first, runs, nil
}

func medianOf(runs []windowRun, f func(windowRun) time.Duration) time.Duration {
	var ds []time.Duration
	for _, r := range runs {
		ds = append(ds, f(r))
	}
	return med(ds)
}

// medianMemory is the median PSS, RSS and private memory of runs, in bytes.
func medianMemory(runs []windowRun) (pss, rss, private float64) {
	var p, r, u []time.Duration // medians via med(): bytes stored as Durations
	for _, run := range runs {
		p = append(p, time.Duration(run.mem.pss))
		r = append(r, time.Duration(run.mem.rss))
		u = append(u, time.Duration(run.mem.private))
	}
	return float64(med(p)), float64(med(r)), float64(med(u))
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, " / ")
}

// startXvfb starts a private X server; Xvfb picks a free display number and
// writes it to file descriptor 3.
func startXvfb(w, h int) (string, func(), error) {
	r, wr, err := os.Pipe()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", w, h), "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{wr}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start Xvfb: %w", err)
	}
	wr.Close()
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
		r.Close()
	}()
	select {
	case n := <-got:
		if n == "" {
			stop()
			return "", nil, errors.New("the X server (Xvfb) did not start")
		}
		return ":" + n, stop, nil
	case <-time.After(10 * time.Second):
		stop()
		return "", nil, errors.New("the X server (Xvfb) announced no display within 10 s")
	}
}

// windowSpec is a window binary to start and what to wait for.
type windowSpec struct {
	bin     string
	env     []string // added to the environment
	listing bool     // Berth's window: wait for the first listing, then for its report and a non-blank screenshot (the empty window stays blank)
}

// startWindow runs a window binary once: exec to the first listing (Berth's
// window), to the page's "Shown:" report, to the first non-blank screenshot
// (Berth's), then idle memory; then ends it.
func startWindow(spec windowSpec, display string, idle time.Duration) (windowRun, error) {
	var run windowRun
	bin := spec.bin
	pr, pw, err := os.Pipe()
	if err != nil {
		return run, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(append(withoutEnv(os.Environ(), "WAYLAND_DISPLAY", "DISPLAY"), "DISPLAY="+display), spec.env...)
	cmd.Stdout, cmd.Stderr = pw, pw
	ownGroup(cmd)
	type logged struct {
		at   time.Time
		line string
	}
	listed := make(chan logged, 1)
	shownC := make(chan logged, 1)
	var output bytes.Buffer
	outDone := make(chan struct{})
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return run, fmt.Errorf("start %s: %w", bin, err)
	}
	pw.Close()
	go func() {
		defer close(outDone)
		sc := bufio.NewScanner(pr)
		sent, shown := false, false
		for sc.Scan() {
			line := sc.Text()
			if !sent && strings.Contains(line, "ListEnvironments:") {
				listed <- logged{time.Now(), line}
				sent = true
			}
			if !shown && strings.Contains(line, "Shown:") {
				shownC <- logged{time.Now(), line}
				shown = true
			}
			if output.Len() < 64<<10 {
				output.WriteString(line + "\n")
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		endGroup(cmd, true)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			endGroup(cmd, false)
			<-exited
		}
		// WebKit's helpers share the group; whatever is left goes too.
		endGroup(cmd, false)
		<-outDone
		pr.Close()
	}
	fail := func(format string, args ...any) (windowRun, error) {
		stop()
		return run, fmt.Errorf("%s\n%s", fmt.Sprintf(format, args...), output.String())
	}

	var at logged // idle time counts from here: the first listing (Berth), the first frame (the empty window)
	if spec.listing {
		select {
		case at = <-listed:
		case err := <-exited:
			exited <- err
			return fail("%s exited before its first listing: %v", bin, err)
		case <-time.After(60 * time.Second):
			return fail("%s logged no listing within 60 s", bin)
		}
		run.listed, run.line = at.at.Sub(start), strings.TrimSpace(at.line[strings.Index(at.line, "ListEnvironments:"):])
	}
	select {
	case l := <-shownC:
		run.shown = l.at.Sub(start)
		if _, marks, ok := strings.Cut(l.line, "page marks: "); ok {
			run.marks = strings.TrimSuffix(marks, ")")
		}
		if !spec.listing {
			at = l
		}
	case err := <-exited:
		exited <- err
		return fail("%s exited before its page reported its first frame: %v", bin, err)
	case <-time.After(60 * time.Second):
		return fail("the page did not report being shown within 60 s")
	}
	deadline := time.Now().Add(30 * time.Second)
	for spec.listing {
		colours, err := screenColours(display, 65)
		if err != nil {
			return fail("screenshot: %v", err)
		}
		if colours > 64 {
			run.painted = time.Since(start)
			break
		}
		if time.Now().After(deadline) {
			return fail("the window is still blank 30 s after its first listing")
		}
	}
	time.Sleep(time.Until(at.at.Add(idle)))
	run.mem, err = measureTree(cmd.Process.Pid)
	if err != nil {
		return fail("memory: %v", err)
	}
	stop()
	return run, nil
}

func withoutEnv(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
}

// screenColours counts the distinct colours of the screen, up to limit (a
// screen of one colour is a window before its first paint).
func screenColours(display string, limit int) (int, error) {
	cmd := exec.Command("import", "-silent", "-window", "root", "-depth", "8", "ppm:-")
	cmd.Env = append(withoutEnv(os.Environ(), "DISPLAY"), "DISPLAY="+display)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("import: %w: %s", err, stderr.String())
	}
	pix, err := ppmPixels(out)
	if err != nil {
		return 0, err
	}
	seen := map[[3]byte]bool{}
	for i := 0; i+3 <= len(pix) && len(seen) < limit; i += 3 {
		seen[[3]byte(pix[i:i+3])] = true
	}
	return len(seen), nil
}

// ppmPixels returns the RGB bytes of a binary PPM (P6, maxval < 256).
func ppmPixels(b []byte) ([]byte, error) {
	var fields []string
	i := 0
	for len(fields) < 4 && i < len(b) {
		for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
			i++
		}
		if i < len(b) && b[i] == '#' {
			for i < len(b) && b[i] != '\n' {
				i++
			}
			continue
		}
		j := i
		for j < len(b) && !(b[j] == ' ' || b[j] == '\n' || b[j] == '\r' || b[j] == '\t') {
			j++
		}
		fields = append(fields, string(b[i:j]))
		i = j
	}
	if len(fields) < 4 || fields[0] != "P6" || fields[3] != "255" || i >= len(b) {
		return nil, fmt.Errorf("not an 8-bit PPM (%q)", fields)
	}
	return b[i+1:], nil
}

// treeMemory is the memory of a process and its descendants.
type treeMemory struct {
	pss, rss int64 // bytes
	private  int64 // bytes mapped by one process only (USS: Private_Clean + Private_Dirty), from smaps_rollup
	pssFrom  int   // processes whose PSS came from smaps_rollup (the others count their RSS)
	procs    map[string]int
}

func (m treeMemory) describe() string {
	names := make([]string, 0, len(m.procs))
	for n := range m.procs {
		names = append(names, n)
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		if c := m.procs[n]; c > 1 {
			parts = append(parts, fmt.Sprintf("%d x %s", c, n))
		} else {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, ", ")
}

func (m treeMemory) pssNote() string {
	total := 0
	for _, c := range m.procs {
		total += c
	}
	if m.pssFrom < total {
		return fmt.Sprintf("   (%d of %d processes without smaps_rollup: their RSS is counted)", total-m.pssFrom, total)
	}
	return ""
}

// measureTree sums PSS (from /proc/PID/smaps_rollup, else RSS) and RSS over
// root and all its descendants.
func measureTree(root int) (treeMemory, error) {
	m := treeMemory{procs: map[string]int{}}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return m, err
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], pid)
	}
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		queue = append(queue, children[pid]...)
		dir := filepath.Join("/proc", strconv.Itoa(pid))
		comm, err := os.ReadFile(filepath.Join(dir, "comm"))
		if err != nil {
			continue // gone
		}
		// comm is cut at 15 bytes: prefer the program's name.
		if argv, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil && len(argv) > 0 {
			arg0, _, _ := bytes.Cut(argv, []byte{0})
			if len(arg0) > 0 {
				comm = []byte(filepath.Base(string(arg0)))
			}
		}
		rss := kbField(filepath.Join(dir, "status"), "VmRSS:")
		pss := kbField(filepath.Join(dir, "smaps_rollup"), "Pss:")
		if pss >= 0 {
			m.pssFrom++
			rollup := filepath.Join(dir, "smaps_rollup")
			m.private += max(kbField(rollup, "Private_Clean:"), 0) + max(kbField(rollup, "Private_Dirty:"), 0)
		} else {
			pss = rss
		}
		m.rss += max(rss, 0)
		m.pss += max(pss, 0)
		m.procs[strings.TrimSpace(string(comm))]++
	}
	if len(m.procs) == 0 {
		return m, fmt.Errorf("process %d is gone", root)
	}
	return m, nil
}

// kbField reads a "Name:   123 kB" line of a /proc file, in bytes; -1 when
// missing.
func kbField(path, name string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name); ok {
			fs := strings.Fields(rest)
			if len(fs) > 0 {
				if v, err := strconv.ParseInt(fs[0], 10, 64); err == nil {
					return v * 1024
				}
			}
		}
	}
	return -1
}

// benchUIUnderLoad: the web mode's page in headless chromium under the
// event stream.
func benchUIUnderLoad(repo, chromium string) {
	const nEnvs, nSvcs = 50, 5
	ver, _ := exec.Command(chromium, "--version").Output()
	version := strings.TrimSpace(string(ver))
	if i := strings.LastIndexByte(version, '\n'); i >= 0 {
		version = version[i+1:]
	}
	version, _, _ = strings.Cut(version, " built on")
	fmt.Fprintf(os.Stderr, "bench: UI under load in %s\n", version)
	r, err := benchUILoad(chromium, filepath.Join(repo, "frontend", "dist"), nEnvs, nSvcs, *uiRate, *uiLoad)
	if err != nil {
		fmt.Printf("  UI under load: FAILED: %v\n", err)
		return
	}
	fmt.Printf("  UI under load: web mode (app/web.Serve + frontend/dist) in headless %s over a fake core:\n", version)
	if r.eventName == "berth:log" {
		fmt.Printf("    %d environments x %d services; the page's logs panel open on one environment, fed %d log lines/s for %s (\"berth:log\" batches)\n",
			nEnvs, nSvcs, *uiRate, *uiLoad)
	} else {
		fmt.Printf("    %d environments x %d services; %d \"%s\" progress events/s for %s (log-like lines over all environments, 4/s op events that refresh the listing; the page opened no log stream)\n",
			nEnvs, nSvcs, *uiRate, r.eventName, *uiLoad)
	}
	fmt.Printf("    page load to the listing shown  %5.2f s   (%d long tasks while loading, longest %.0f ms)\n",
		r.firstData.Seconds(), len(r.loadTasks), longest(r.loadTasks))
	if r.unresponsive {
		fmt.Printf("    the page stopped answering: no answer to DevTools 30 s after the stream (slowest answer during it %.1f s); %d events sent   target: UI keeps up   MISSED\n",
			r.slowest.Seconds(), r.sent)
		return
	}
	drain := "never, within 30 s"
	if r.drain >= 0 {
		drain = fmt.Sprintf("%.2f s", r.drain.Seconds())
	}
	fmt.Printf("    lines/events received by the page  %d of %d sent; all in %s after the stream ended; listings served %d; last line on screen: %s\n",
		r.received, r.sent, drain, r.lists, yesNo(r.lastShown))
	over := 0
	for _, t := range r.streamTasks {
		if t.Duration > 100 {
			over++
		}
	}
	sanity := "a deliberate 150 ms task was recorded"
	if !r.sanityOK {
		sanity = "WARNING: a deliberate 150 ms task was NOT recorded"
	}
	fmt.Printf("    long tasks (> 50 ms) during the stream  %d, longest %.0f ms, %d over 100 ms   target: none over 100 ms   %s   (observer check: %s)\n",
		len(r.streamTasks), longest(r.streamTasks), over, verdict(over == 0 && r.sanityOK), sanity)
	keepsUp := r.drain >= 0 && r.drain <= time.Second && r.maxGap <= 100
	fmt.Printf("    keeping up: %.0f frames/s, longest gap between frames %.0f ms, slowest DevTools answer %.0f ms   (all events within 1 s of the end and no frame gap over 100 ms: %s)\n",
		r.fps, r.maxGap, ms(r.slowest), verdict(keepsUp))
	fmt.Printf("    JS heap after the stream        %5.1f MB used of %.1f MB\n", r.heapUsed/mb, r.heapTotal/mb)
}

func longest(ts []longTask) float64 {
	m := 0.0
	for _, t := range ts {
		m = max(m, t.Duration)
	}
	return m
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
