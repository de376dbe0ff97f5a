package main

// A tiny Chrome DevTools Protocol client for the "ui" section: it starts
// headless chromium with --remote-debugging-pipe (the protocol over file
// descriptors 3 and 4, one JSON message per NUL-terminated chunk), so no
// websocket and no Node package is needed.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// errNoAnswer: the page did not answer in time (its main thread is busy).
var errNoAnswer = errors.New("no answer in time")

type cdpBrowser struct {
	cmd     *exec.Cmd
	dataDir string
	w       io.WriteCloser

	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpReply
	done    chan struct{}
	err     error
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// startChromium starts headless chromium at a window of w x h pixels.
func startChromium(bin string, w, h int) (*cdpBrowser, error) {
	dataDir, err := os.MkdirTemp("", "berth-bench-chromium-")
	if err != nil {
		return nil, err
	}
	toBrowser, ourWrite, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ourRead, fromBrowser, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--no-default-browser-check", "--disable-extensions", "--mute-audio",
		"--disable-background-networking", "--disable-component-update",
		"--remote-debugging-pipe", "--user-data-dir="+dataDir,
		fmt.Sprintf("--window-size=%d,%d", w, h), "about:blank")
	// fd 3: what the browser reads; fd 4: what it writes.
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser}
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dataDir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	toBrowser.Close()
	fromBrowser.Close()
	b := &cdpBrowser{cmd: cmd, dataDir: dataDir, w: ourWrite, pending: map[int]chan cdpReply{}, done: make(chan struct{})}
	go b.readLoop(ourRead)
	return b, nil
}

func (b *cdpBrowser) readLoop(r io.ReadCloser) {
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.err = fmt.Errorf("chromium closed the DevTools pipe: %w", err)
			b.mu.Unlock()
			close(b.done)
			return
		}
		msg = bytes.TrimSuffix(msg, []byte{0})
		var m struct {
			ID int `json:"id"`
			cdpReply
		}
		if json.Unmarshal(msg, &m) != nil || m.ID == 0 {
			continue // an event: not needed here
		}
		b.mu.Lock()
		c := b.pending[m.ID]
		delete(b.pending, m.ID)
		b.mu.Unlock()
		if c != nil {
			c <- m.cdpReply
		}
	}
}

// call sends one command (to the browser when session is "", else to that
// page session) and decodes its result into out (when not nil).
func (b *cdpBrowser) call(session, method string, params, out any) error {
	return b.callTimeout(60*time.Second, session, method, params, out)
}

func (b *cdpBrowser) callTimeout(timeout time.Duration, session, method string, params, out any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	c := make(chan cdpReply, 1)
	b.pending[id] = c
	b.mu.Unlock()
	req := map[string]any{"id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	if session != "" {
		req["sessionId"] = session
	}
	data, err := json.Marshal(req)
	if err != nil {
		return err
	}
	b.mu.Lock()
	_, err = b.w.Write(append(data, 0))
	b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case rep := <-c:
		if rep.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, rep.Error.Message, rep.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(rep.Result, out)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("%s: %w", method, b.err)
	case <-time.After(timeout):
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, errNoAnswer)
	}
}

// openPage opens a blank tab and returns its (flattened) session.
func (b *cdpBrowser) openPage() (string, error) {
	var t struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &t); err != nil {
		return "", err
	}
	var s struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call("", "Target.attachToTarget", map[string]any{"targetId": t.TargetID, "flatten": true}, &s); err != nil {
		return "", err
	}
	return s.SessionID, nil
}

// eval evaluates a JavaScript expression in the page (awaiting a promise)
// and decodes its JSON value into out.
func (b *cdpBrowser) eval(session, expr string, out any) error {
	return b.evalTimeout(60*time.Second, session, expr, out)
}

func (b *cdpBrowser) evalTimeout(timeout time.Duration, session, expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception *struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := b.callTimeout(timeout, session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r)
	if err != nil {
		return err
	}
	if e := r.ExceptionDetails; e != nil {
		msg := e.Text
		if e.Exception != nil {
			msg = e.Exception.Description
		}
		return fmt.Errorf("evaluate %q: %s", expr, msg)
	}
	if out != nil && len(r.Result.Value) > 0 {
		return json.Unmarshal(r.Result.Value, out)
	}
	return nil
}

// close ends the browser (its whole process group: it was started in its
// own) and removes its profile.
func (b *cdpBrowser) close() {
	_ = b.call("", "Browser.close", nil, nil)
	exited := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		endGroup(b.cmd, false)
		<-exited
	}
	// Helpers (zygote, renderers) left behind share the group.
	endGroup(b.cmd, false)
	b.w.Close()
	os.RemoveAll(b.dataDir)
}
