package keyring

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/keyring/keyringtest"
	"github.com/berthdev/berth/internal/secret"
)

func TestKeyringAgainstGnomeKeyring(t *testing.T) {
	addr := keyringtest.Start(t)
	ctx := context.Background()
	k, err := OpenAt(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	def := secret.Ref{Scope: secret.ScopeDefinition, Owner: "shop", Name: "DB_PASSWORD"}
	env := secret.Ref{Scope: secret.ScopeEnvironment, Owner: "shop-pr42", Name: "DB_PASSWORD"}
	if _, ok, err := k.Get(def); err != nil || ok {
		t.Fatalf("Get before Set: ok %v, %v", ok, err)
	}
	if err := k.Set(def, "first value"); err != nil {
		t.Fatal(err)
	}
	if err := k.Set(def, "s3cret value, second"); err != nil {
		t.Fatal(err)
	}
	if err := k.Set(env, "for the copy"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := k.Get(def); err != nil || !ok || v != "s3cret value, second" {
		t.Fatalf("Get = %q %v %v, want the second value (Set replaces)", v, ok, err)
	}
	refs, err := k.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 2 || refs[0] != def || refs[1] != env {
		t.Fatalf("List = %v, want [%v %v]", refs, def, env)
	}
	if !strings.Contains(k.Where(), "OS keyring") {
		t.Errorf("Where = %q", k.Where())
	}
	if ok, err := k.Delete(def); err != nil || !ok {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
	if ok, err := k.Delete(def); err != nil || ok {
		t.Fatalf("second Delete = %v, %v; want false", ok, err)
	}
	if _, ok, _ := k.Get(def); ok {
		t.Fatal("deleted secret still read")
	}
	if v, ok, _ := k.Get(env); !ok || v != "for the copy" {
		t.Fatalf("the other secret: %q %v", v, ok)
	}
	if err := k.Set(secret.Ref{Scope: "x", Owner: "shop", Name: "A"}, "v"); err == nil {
		t.Fatal("a bad scope was stored")
	}
}

func TestNoBus(t *testing.T) {
	if _, err := OpenAt(context.Background(), "unix:path="+filepath.Join(t.TempDir(), "nothing-here")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("OpenAt(no bus) = %v, want ErrUnavailable", err)
	}
}
