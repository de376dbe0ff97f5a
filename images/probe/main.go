// Command probe is a tiny, dependency-free program that Berth's tests run in a
// FROM scratch image to exercise a real Docker engine quickly.
//
// Usage:
//
//	probe serve              HTTP server on $PORT (or 8080): / answers JSON about the
//	                         container, /healthz answers 200, /fail makes it exit 1
//	probe health [URL]       exit 0 if GET URL (default http://127.0.0.1:8080/healthz,
//	                         or $PORT's) answers 200, else 1; meant for HEALTHCHECK
//	probe sleep [DURATION]   wait for DURATION (a Go duration; default forever)
//	probe exit N             exit with status N
//	probe cat PATH           print a file (there is no shell in the image)
//	probe write PATH TEXT    write TEXT and a newline to PATH, making its folder
//	probe ls PATH            list a folder
//
// serve and sleep exit 0 on SIGTERM or SIGINT, so containers stop at once.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		args = []string{"serve"}
	}
	os.Exit(run(args[0], args[1:]))
}

func run(cmd string, args []string) int {
	switch cmd {
	case "serve":
		return serve()
	case "health":
		url := "http://127.0.0.1:" + port() + "/healthz"
		if len(args) > 0 {
			url = args[0]
		}
		return health(url)
	case "sleep":
		d := time.Duration(0)
		if len(args) > 0 {
			var err error
			if d, err = time.ParseDuration(args[0]); err != nil {
				fmt.Fprintf(os.Stderr, "probe: sleep: %v\n", err)
				return 2
			}
		}
		return sleep(d)
	case "exit":
		if len(args) != 1 {
			fmt.Fprintln(os.Stderr, "probe: usage: probe exit N")
			return 2
		}
		n, err := strconv.Atoi(args[0])
		if err != nil {
			fmt.Fprintf(os.Stderr, "probe: exit: %v\n", err)
			return 2
		}
		fmt.Printf("probe: exiting with %d\n", n)
		return n
	case "cat":
		if len(args) != 1 {
			fmt.Fprintln(os.Stderr, "probe: usage: probe cat PATH")
			return 2
		}
		b, err := os.ReadFile(args[0])
		if err != nil {
			fmt.Fprintf(os.Stderr, "probe: %v\n", err)
			return 1
		}
		os.Stdout.Write(b)
		return 0
	case "write":
		if len(args) != 2 {
			fmt.Fprintln(os.Stderr, "probe: usage: probe write PATH TEXT")
			return 2
		}
		if err := os.MkdirAll(filepath.Dir(args[0]), 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "probe: %v\n", err)
			return 1
		}
		if err := os.WriteFile(args[0], []byte(args[1]+"\n"), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "probe: %v\n", err)
			return 1
		}
		return 0
	case "ls":
		dir := "."
		if len(args) > 0 {
			dir = args[0]
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "probe: %v\n", err)
			return 1
		}
		for _, e := range entries {
			fmt.Println(e.Name())
		}
		return 0
	default:
		fmt.Fprintf(os.Stderr, "probe: unknown command %q (serve, health, sleep, exit, cat, write, ls)\n", cmd)
		return 2
	}
}

func port() string {
	if p := os.Getenv("PORT"); p != "" {
		return p
	}
	return "8080"
}

// info is what / answers.
type info struct {
	Hostname string            `json:"hostname"`
	Args     []string          `json:"args"`
	Env      map[string]string `json:"env"`
	PID      int               `json:"pid"`
	Started  time.Time         `json:"started"`
	Addrs    []string          `json:"addrs"`
}

func serve() int {
	started := time.Now().UTC()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	failed := make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		host, _ := os.Hostname()
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(info{
			Hostname: host,
			Args:     os.Args,
			Env:      env,
			PID:      os.Getpid(),
			Started:  started,
			Addrs:    addrs(),
		})
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "failing")
		select {
		case failed <- struct{}{}:
		default:
		}
	})

	addr := ":" + port()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Printf("probe: serving on %s\n", addr)

	select {
	case <-ctx.Done():
		fmt.Println("probe: signal received, stopping")
		shutdown(srv)
		return 0
	case <-failed:
		fmt.Fprintln(os.Stderr, "probe: /fail requested, exiting with 1")
		shutdown(srv)
		return 1
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "probe: %v\n", err)
		return 1
	}
}

func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}

func addrs() []string {
	var out []string
	as, _ := net.InterfaceAddrs()
	for _, a := range as {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() {
			out = append(out, ipn.IP.String())
		}
	}
	sort.Strings(out)
	return out
}

func health(url string) int {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: health: %v\n", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "probe: health: %s answered %s\n", url, resp.Status)
		return 1
	}
	return 0
}

func sleep(d time.Duration) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if d <= 0 {
		<-ctx.Done()
		return 0
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	return 0
}
