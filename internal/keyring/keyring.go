// Package keyring keeps Berth's secrets in the user's OS keyring through
// the freedesktop Secret Service (GNOME Keyring, KWallet, KeePassXC): it
// is the only package that imports D-Bus. Values travel over the session
// bus in a "plain" session, which is what the bus's own access control
// protects; they are stored in the keyring's default collection, under
// attributes that name Berth, the scope, its owner and the secret.
package keyring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/berthdev/berth/internal/secret"
)

const (
	busName     = "org.freedesktop.secrets"
	servicePath = dbus.ObjectPath("/org/freedesktop/secrets")
	iService    = "org.freedesktop.Secret.Service"
	iCollection = "org.freedesktop.Secret.Collection"
	iItem       = "org.freedesktop.Secret.Item"
	iPrompt     = "org.freedesktop.Secret.Prompt"
	noPrompt    = dbus.ObjectPath("/")
	application = "berth"
)

// callTimeout bounds one call to the keyring; promptTimeout bounds how
// long Berth waits for the user to answer the keyring's unlock prompt.
const (
	callTimeout   = 10 * time.Second
	promptTimeout = 2 * time.Minute
)

// ErrUnavailable: no Secret Service answers on the session bus.
var ErrUnavailable = errors.New("no Secret Service on the session bus")

// secretValue is the Secret Service's Secret struct (oayays).
type secretValue struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// Keyring is a connection to the Secret Service. It implements
// secret.Store.
type Keyring struct {
	conn *dbus.Conn
	name string // the collection's label, for Where

	mu   sync.Mutex
	sess dbus.ObjectPath // the open session, "" before the first use
}

// Open connects to the Secret Service of the user's session bus. It
// returns ErrUnavailable (wrapped) when there is no session bus or nothing
// on it answers for the secrets name; it never starts a bus. Its
// getenv reads the process's environment (os.Getenv).
func Open(ctx context.Context, getenv func(string) string) (*Keyring, error) {
	addr := getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		p := filepath.Join("/run/user", fmt.Sprint(os.Getuid()), "bus")
		if fi, err := os.Stat(p); err != nil || fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%w: no session bus", ErrUnavailable)
		}
		addr = "unix:path=" + p
	}
	return OpenAt(ctx, addr)
}

// OpenAt is Open on the bus at addr.
func OpenAt(ctx context.Context, addr string) (*Keyring, error) {
	// Not dbus.WithContext: that context would close the connection
	// when it ends, and the connection outlives the call.
	conn, err := dbus.Connect(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	k := &Keyring{conn: conn}
	if !k.answers(ctx) {
		conn.Close()
		return nil, fmt.Errorf("%w: nothing answers for %s", ErrUnavailable, busName)
	}
	return k, nil
}

// answers says whether the secrets name has an owner or can be started.
func (k *Keyring) answers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	bus := k.conn.BusObject()
	var owned bool
	if bus.CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, busName).Store(&owned) == nil && owned {
		return true
	}
	var names []string
	if bus.CallWithContext(ctx, "org.freedesktop.DBus.ListActivatableNames", 0).Store(&names) == nil {
		return slices.Contains(names, busName)
	}
	return false
}

// Close ends the session and the connection.
func (k *Keyring) Close() error {
	k.mu.Lock()
	if k.sess != "" {
		k.call(k.sess, "org.freedesktop.Secret.Session.Close")
		k.sess = ""
	}
	k.mu.Unlock()
	return k.conn.Close()
}

// Where says where values are kept.
func (k *Keyring) Where() string {
	if k.name != "" {
		return "OS keyring (Secret Service, collection " + k.name + ")"
	}
	return "OS keyring (Secret Service)"
}

func (k *Keyring) call(obj dbus.ObjectPath, method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return k.conn.Object(busName, obj).CallWithContext(ctx, method, 0, args...)
}

func attributes(r secret.Ref) map[string]string {
	return map[string]string{"application": application, "berth.scope": r.Scope, "berth.owner": r.Owner, "berth.name": r.Name}
}

// session is the connection's plain session, opened on first use and
// kept: each value read or written then costs one call.
func (k *Keyring) session() (dbus.ObjectPath, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.sess != "" {
		return k.sess, nil
	}
	var out dbus.Variant
	var s dbus.ObjectPath
	if err := k.call(servicePath, iService+".OpenSession", "plain", dbus.MakeVariant("")).Store(&out, &s); err != nil {
		return "", fmt.Errorf("keyring: open a session: %w", err)
	}
	k.sess = s
	return s, nil
}

// withSession runs fn with the session, once more with a new one when the
// service forgot the old (it restarted).
func (k *Keyring) withSession(fn func(dbus.ObjectPath) error) error {
	s, err := k.session()
	if err != nil {
		return err
	}
	if err = fn(s); err == nil {
		return nil
	}
	var de dbus.Error
	if !errors.As(err, &de) || de.Name != "org.freedesktop.Secret.Error.NoSession" {
		return err
	}
	k.mu.Lock()
	k.sess = ""
	k.mu.Unlock()
	if s, err = k.session(); err != nil {
		return err
	}
	return fn(s)
}

// search returns the items matching attrs, unlocking locked ones (which
// may ask the user through the keyring's prompt).
func (k *Keyring) search(attrs map[string]string) ([]dbus.ObjectPath, error) {
	var unlocked, locked []dbus.ObjectPath
	if err := k.call(servicePath, iService+".SearchItems", attrs).Store(&unlocked, &locked); err != nil {
		return nil, fmt.Errorf("keyring: search: %w", err)
	}
	if len(locked) > 0 {
		more, err := k.unlock(locked)
		if err != nil {
			return nil, err
		}
		unlocked = append(unlocked, more...)
	}
	return unlocked, nil
}

func (k *Keyring) unlock(objs []dbus.ObjectPath) ([]dbus.ObjectPath, error) {
	var done []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := k.call(servicePath, iService+".Unlock", objs).Store(&done, &prompt); err != nil {
		return nil, fmt.Errorf("keyring: unlock: %w", err)
	}
	if prompt == noPrompt {
		return done, nil
	}
	res, err := k.prompt(prompt)
	if err != nil {
		return nil, err
	}
	if paths, ok := res.Value().([]dbus.ObjectPath); ok {
		done = append(done, paths...)
	}
	return done, nil
}

// prompt shows the keyring's prompt and waits for the user's answer.
func (k *Keyring) prompt(p dbus.ObjectPath) (dbus.Variant, error) {
	match := []dbus.MatchOption{dbus.WithMatchObjectPath(p), dbus.WithMatchInterface(iPrompt), dbus.WithMatchMember("Completed")}
	if err := k.conn.AddMatchSignal(match...); err != nil {
		return dbus.Variant{}, fmt.Errorf("keyring: prompt: %w", err)
	}
	defer k.conn.RemoveMatchSignal(match...)
	ch := make(chan *dbus.Signal, 4)
	k.conn.Signal(ch)
	defer k.conn.RemoveSignal(ch)
	if err := k.call(p, iPrompt+".Prompt", "").Err; err != nil {
		return dbus.Variant{}, fmt.Errorf("keyring: prompt: %w", err)
	}
	timeout := time.NewTimer(promptTimeout)
	defer timeout.Stop()
	for {
		select {
		case sig := <-ch:
			if sig.Path != p || sig.Name != iPrompt+".Completed" || len(sig.Body) < 2 {
				continue
			}
			if dismissed, _ := sig.Body[0].(bool); dismissed {
				return dbus.Variant{}, errors.New("keyring: the unlock prompt was dismissed")
			}
			v, _ := sig.Body[1].(dbus.Variant)
			return v, nil
		case <-timeout.C:
			return dbus.Variant{}, fmt.Errorf("keyring: no answer to the unlock prompt in %s", promptTimeout)
		}
	}
}

// collection is the default collection, unlocked.
func (k *Keyring) collection() (dbus.ObjectPath, error) {
	var c dbus.ObjectPath
	if err := k.call(servicePath, iService+".ReadAlias", "default").Store(&c); err != nil {
		return "", fmt.Errorf("keyring: find the default collection: %w", err)
	}
	if c == noPrompt {
		c = "/org/freedesktop/secrets/collection/login"
	}
	var locked dbus.Variant
	if err := k.call(c, "org.freedesktop.DBus.Properties.Get", iCollection, "Locked").Store(&locked); err != nil {
		return "", fmt.Errorf("keyring: no default collection (%w); create one in the keyring's manager", err)
	}
	if l, _ := locked.Value().(bool); l {
		if _, err := k.unlock([]dbus.ObjectPath{c}); err != nil {
			return "", err
		}
	}
	if k.name == "" {
		var label dbus.Variant
		if k.call(c, "org.freedesktop.DBus.Properties.Get", iCollection, "Label").Store(&label) == nil {
			k.name, _ = label.Value().(string)
		}
	}
	return c, nil
}

// Get returns r's value.
func (k *Keyring) Get(r secret.Ref) (string, bool, error) {
	if err := r.Check(); err != nil {
		return "", false, err
	}
	items, err := k.search(attributes(r))
	if err != nil || len(items) == 0 {
		return "", false, err
	}
	var v secretValue
	if err := k.withSession(func(s dbus.ObjectPath) error { return k.call(items[0], iItem+".GetSecret", s).Store(&v) }); err != nil {
		return "", false, fmt.Errorf("keyring: read %s: %w", r.Name, err)
	}
	return string(v.Value), true, nil
}

// Set stores value under r, replacing an item with the same attributes.
func (k *Keyring) Set(r secret.Ref, value string) error {
	if err := r.Check(); err != nil {
		return err
	}
	if len(value) > secret.MaxValue {
		return fmt.Errorf("secret %s: %d bytes, more than the %d a secret may hold", r.Name, len(value), secret.MaxValue)
	}
	c, err := k.collection()
	if err != nil {
		return err
	}
	props := map[string]dbus.Variant{
		iItem + ".Label":      dbus.MakeVariant(fmt.Sprintf("Berth: %s of %s %s", r.Name, r.Scope, r.Owner)),
		iItem + ".Attributes": dbus.MakeVariant(attributes(r)),
	}
	var item, prompt dbus.ObjectPath
	err = k.withSession(func(s dbus.ObjectPath) error {
		v := secretValue{Session: s, Value: []byte(value), ContentType: "text/plain; charset=utf8"}
		return k.call(c, iCollection+".CreateItem", props, v, true).Store(&item, &prompt)
	})
	if err != nil {
		return fmt.Errorf("keyring: store %s: %w", r.Name, err)
	}
	if prompt != noPrompt {
		if _, err := k.prompt(prompt); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes every item r names.
func (k *Keyring) Delete(r secret.Ref) (bool, error) {
	if err := r.Check(); err != nil {
		return false, err
	}
	items, err := k.search(attributes(r))
	if err != nil {
		return false, err
	}
	for _, it := range items {
		var prompt dbus.ObjectPath
		if err := k.call(it, iItem+".Delete").Store(&prompt); err != nil {
			return false, fmt.Errorf("keyring: remove %s: %w", r.Name, err)
		}
		if prompt != noPrompt {
			if _, err := k.prompt(prompt); err != nil {
				return false, err
			}
		}
	}
	return len(items) > 0, nil
}

// List returns Berth's items, without values.
func (k *Keyring) List() ([]secret.Ref, error) {
	items, err := k.search(map[string]string{"application": application})
	if err != nil {
		return nil, err
	}
	var out []secret.Ref
	for _, it := range items {
		var v dbus.Variant
		if err := k.call(it, "org.freedesktop.DBus.Properties.Get", iItem, "Attributes").Store(&v); err != nil {
			return nil, fmt.Errorf("keyring: list: %w", err)
		}
		a, _ := v.Value().(map[string]string)
		r := secret.Ref{Scope: a["berth.scope"], Owner: a["berth.owner"], Name: a["berth.name"]}
		if r.Check() == nil && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	secret.SortRefs(out)
	return out, nil
}
