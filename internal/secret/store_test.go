package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestFileStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := NewFileStore(dir)
	r := Ref{Scope: ScopeDefinition, Owner: "shop", Name: "DB_PASSWORD"}
	if refs, err := s.List(); err != nil || len(refs) != 0 {
		t.Fatalf("empty store lists %v, %v", refs, err)
	}
	if err := s.Set(r, "hunter2-correct-horse"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.Get(r); err != nil || !ok || v != "hunter2-correct-horse" {
		t.Fatalf("Get = %q %v %v", v, ok, err)
	}
	for _, name := range []string{fileName, fileKeyName} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, fileName))
	if bytes.Contains(data, []byte("hunter2")) || bytes.Contains(data, []byte("DB_PASSWORD")) {
		t.Fatal("the store file holds the value or the name in clear text")
	}
	// A new store on the same folder (another process) reads it.
	if v, ok, _ := NewFileStore(dir).Get(r); !ok || v != "hunter2-correct-horse" {
		t.Fatalf("reopened: %q %v", v, ok)
	}
	if ok, err := s.Delete(r); err != nil || !ok {
		t.Fatalf("Delete = %v %v", ok, err)
	}
	if _, ok, _ := s.Get(r); ok {
		t.Fatal("deleted value read")
	}
	if !strings.Contains(s.Where(), "encrypted file") {
		t.Errorf("Where = %q", s.Where())
	}
}

func TestFileStoreDamaged(t *testing.T) {
	dir := t.TempDir()
	s := NewFileStore(dir)
	r := Ref{Scope: ScopeEnvironment, Owner: "shop-pr42", Name: "TOKEN"}
	if err := s.Set(r, "value"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fileKeyName), bytes.Repeat([]byte{1}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(r); err == nil || !strings.Contains(err.Error(), "cannot be decrypted") {
		t.Fatalf("Get with another key: %v", err)
	}
	os.Remove(filepath.Join(dir, fileKeyName))
	if _, _, err := s.Get(r); err == nil || !strings.Contains(err.Error(), "key secrets.key is missing") {
		t.Fatalf("Get without key: %v", err)
	}
	// Nothing is overwritten while the file cannot be read.
	if err := s.Set(r, "other"); err == nil {
		t.Fatal("Set over an unreadable store succeeded")
	}
}

func TestFileStoreConcurrentSets(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// separate stores stand for separate processes
			if err := NewFileStore(dir).Set(Ref{Scope: ScopeDefinition, Owner: "shop", Name: "S" + string(rune('A'+i))}, "v"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	refs, err := NewFileStore(dir).List()
	if err != nil || len(refs) != 8 {
		t.Fatalf("List = %d refs, %v; want all 8 sets kept", len(refs), err)
	}
}

func TestRefCheck(t *testing.T) {
	for _, r := range []Ref{
		{Scope: "team", Owner: "shop", Name: "A"},
		{Scope: ScopeDefinition, Owner: "", Name: "A"},
		{Scope: ScopeDefinition, Owner: "../x", Name: "A"},
		{Scope: ScopeDefinition, Owner: "shop", Name: "1A"},
		{Scope: ScopeDefinition, Owner: "shop", Name: "A-B"},
	} {
		if r.Check() == nil {
			t.Errorf("%+v accepted", r)
		}
	}
}

func TestChain(t *testing.T) {
	first, second := NewFileStore(t.TempDir()), NewFileStore(t.TempDir())
	old := Ref{Scope: ScopeDefinition, Owner: "shop", Name: "OLD"}
	if err := second.Set(old, "from the file"); err != nil {
		t.Fatal(err)
	}
	c := Chain{first, second}
	if v, ok, _ := c.Get(old); !ok || v != "from the file" {
		t.Fatalf("Get through the chain: %q %v", v, ok)
	}
	if err := c.Set(old, "new"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := second.Get(old); ok {
		t.Fatal("Set left the stale value in the second store")
	}
	if v, _, _ := first.Get(old); v != "new" {
		t.Fatalf("first store holds %q", v)
	}
	if refs, _ := c.List(); len(refs) != 1 {
		t.Fatalf("List = %v", refs)
	}
}

func TestRedact(t *testing.T) {
	Hide("abc") // too short: not hidden
	Hide("pa55-w0rd-long")
	Hide("pa55")
	got := Redact("url postgres://u:pa55-w0rd-long@db and pa55 and abc")
	if strings.Contains(got, "pa55") || !strings.Contains(got, "abc") || !strings.Contains(got, Prefix) {
		t.Fatalf("Redact = %q", got)
	}
	var b bytes.Buffer
	w := RedactWriter(&b)
	if n, err := w.Write([]byte("line pa55-w0rd-long\n")); err != nil || n != 20 {
		t.Fatalf("Write = %d %v", n, err)
	}
	if strings.Contains(b.String(), "pa55") {
		t.Fatalf("written %q", b.String())
	}
}
