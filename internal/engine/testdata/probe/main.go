// Command probe is the tiny static program the engine integration tests put
// in a FROM scratch image: an HTTP server with a health endpoint, a health
// check client, and a few one-shot behaviours (among them listing the keys
// of an ssh agent).
package main

import (
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func main() {
	// As PID 1 the process gets no default signal handling: stop on TERM.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		fmt.Println("probe: stopping")
		os.Exit(0)
	}()

	cmd := "serve"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	switch cmd {
	case "serve":
		serve()
	case "health":
		c := http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get("http://127.0.0.1:8080/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			fmt.Println("probe: unhealthy", err)
			os.Exit(1)
		}
		fmt.Println("probe: healthy")
	case "sleep":
		fmt.Println("probe: sleeping")
		select {}
	case "exit":
		code, _ := strconv.Atoi(arg(2))
		for i := 1; i <= 12; i++ {
			fmt.Printf("probe: line %d\n", i)
		}
		fmt.Fprintf(os.Stderr, "probe: exiting with %d\n", code)
		os.Exit(code)
	case "ls":
		root := arg(2)
		var names []string
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == root {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			if d.Type()&fs.ModeSymlink != 0 {
				target, _ := os.Readlink(p)
				rel += " -> " + target
			}
			names = append(names, rel)
			return nil
		})
		sort.Strings(names)
		for _, n := range names {
			fmt.Println("ls:", n)
		}
	case "ssh-keys":
		// the keys of the ssh agent at arg 2, else $SSH_AUTH_SOCK
		sock := arg(2)
		if sock == "" {
			sock = os.Getenv("SSH_AUTH_SOCK")
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
		keys, err := agent.NewClient(conn).List()
		if err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
		for _, k := range keys {
			pub, err := ssh.ParsePublicKey(k.Blob)
			if err == nil {
				fmt.Println("ssh-key:", ssh.FingerprintSHA256(pub))
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "probe: unknown command", cmd)
		os.Exit(2)
	}
}

func arg(i int) string {
	if len(os.Args) > i {
		return os.Args[i]
	}
	return ""
}

func serve() {
	msg := os.Getenv("MESSAGE")
	fmt.Println("probe: serving on :8080")
	fmt.Println("probe: MESSAGE=" + msg)
	fmt.Fprintln(os.Stderr, "probe: this line goes to stderr")
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, msg)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat("/tmp/unhealthy"); err == nil {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		c := http.Client{Timeout: 3 * time.Second}
		resp, err := c.Get(r.URL.Query().Get("url"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	if err := http.ListenAndServe(":8080", mux); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}
