package spec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secretsCompose = `services:
  api:
    image: api:1
    environment:
      DB_PASSWORD: ${DB_PASSWORD}
      MODE: ${MODE:-plain}
    secrets: [token]
  debug:
    image: debug:1
    profiles: [debug]
secrets:
  token:
    environment: API_TOKEN
`

func secretsDef(t *testing.T, manifest string, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"berth.yaml": manifest, "compose.yaml": secretsCompose, "seeds/a.sql": "select 1;", "seeds/b.sql": "select 2;"}
	for k, v := range extra {
		files[k] = v
	}
	writeFiles(t, dir, files)
	return dir
}

func lookupFrom(m map[string]string) func(string) (string, bool, error) {
	return func(name string) (string, bool, error) { v, ok := m[name]; return v, ok, nil }
}

func TestSecretsLoad(t *testing.T) {
	dir := secretsDef(t, `name: shop
secrets:
  - name: DB_PASSWORD
    description: the database's password
  - name: API_TOKEN
  - name: OPTIONAL_ONE
    required: false
`, nil)
	ctx := context.Background()
	_, err := LoadDefinition(ctx, dir, LoadOptions{Secret: lookupFrom(map[string]string{"API_TOKEN": "t0ken-value"})})
	var missing *MissingSecretsError
	if !errors.As(err, &missing) || !errors.Is(err, ErrMissingSecrets) {
		t.Fatalf("load without DB_PASSWORD: %v", err)
	}
	if len(missing.Missing) != 1 || missing.Missing[0].Name != "DB_PASSWORD" ||
		!strings.Contains(err.Error(), "berth secret set") || !strings.Contains(err.Error(), "the database's password") {
		t.Fatalf("error: %v", err)
	}
	p, err := LoadDefinition(ctx, dir, LoadOptions{
		HostEnv: map[string]string{"DB_PASSWORD": "from the host"},
		Secret:  lookupFrom(map[string]string{"API_TOKEN": "t0ken-value", "DB_PASSWORD": "pa55-from-store"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Service("api").Environment["DB_PASSWORD"]; got != "pa55-from-store" {
		t.Errorf("DB_PASSWORD = %q, want the stored secret over the host's", got)
	}
	if len(p.Secrets) != 1 || string(p.Secrets[0].Content) != "t0ken-value" {
		t.Errorf("the Compose secret's environment source: %+v", p.Secrets)
	}
	if strings.Join(p.SecretNames, ",") != "API_TOKEN,DB_PASSWORD" {
		t.Errorf("SecretNames = %v", p.SecretNames)
	}
	for _, c := range p.Capabilities {
		if strings.Contains(c.Text, "API_TOKEN") || strings.Contains(c.Text, "DB_PASSWORD") {
			t.Errorf("a stored secret counts as read from the user's environment: %s", c.Text)
		}
	}
}

func TestVariantLoad(t *testing.T) {
	dir := secretsDef(t, `name: shop
databases:
  - service: api
    engine: postgres
    source: {seed: seeds/a.sql}
    volume: data
variants:
  review:
    description: a reviewer's copy
    compose: [compose.review.yaml]
    profiles: [debug]
    environment: {MODE: review}
    databases:
      api: {seed: seeds/b.sql}
`, map[string]string{"compose.review.yaml": "services:\n  api:\n    labels: {tier: review}\n    volumes: [data:/var/lib/postgresql/data]\nvolumes:\n  data: {}\n",
		"compose.yaml": strings.Replace(secretsCompose, "    secrets: [token]\n", "    volumes: [data:/var/lib/postgresql/data]\n", 1) + "volumes:\n  data: {}\n"})
	ctx := context.Background()
	opts := LoadOptions{Secret: lookupFrom(nil), Environment: map[string]string{"API_TOKEN": "x"}}
	plain, err := LoadDefinition(ctx, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Service("debug") != nil || plain.Service("api").Environment["MODE"] != "plain" || plain.Variant != "" {
		t.Fatalf("without a variant: debug %v, MODE %q", plain.Service("debug") != nil, plain.Service("api").Environment["MODE"])
	}
	opts.Variant = "review"
	p, err := LoadDefinition(ctx, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if p.Variant != "review" || p.Service("debug") == nil || p.Service("api").Environment["MODE"] != "review" ||
		p.Service("api").Labels["tier"] != "review" || !strings.HasSuffix(p.Databases[0].Source.Seed, "seeds/b.sql") {
		t.Fatalf("review variant: %+v / %v / %v", p.Service("api"), p.Service("debug") != nil, p.Databases[0].Source)
	}
	if p.Service("api").Hash == plain.Service("api").Hash {
		t.Error("the variant's api has the plain one's hash")
	}
	// The user's own value wins over the variant's.
	opts.Environment["MODE"] = "mine"
	if p, err = LoadDefinition(ctx, dir, opts); err != nil || p.Service("api").Environment["MODE"] != "mine" {
		t.Fatalf("user value: %v %v", err, p)
	}
	opts.Variant = "reveiw"
	_, err = LoadDefinition(ctx, dir, opts)
	if err == nil || !strings.Contains(err.Error(), `no variant "reveiw"`) || !strings.Contains(err.Error(), "review") {
		t.Fatalf("unknown variant: %v", err)
	}
}

func TestManifestLocalErrors(t *testing.T) {
	for _, tc := range []struct{ manifest, field, want string }{
		{"name: a\nsecrets:\n  - description: x\n", "secrets[0].name", "required"},
		{"name: a\nsecrets:\n  - name: 1X\n", "secrets[0].name", "invalid secret name"},
		{"name: a\nsecrets:\n  - name: X\n  - name: X\n", "secrets[1].name", "already declared"},
		{"name: a\nsecrets:\n  - name: X\n    required: maybe\n", "secrets[0].required", "true or false"},
		{"name: a\nlocal: [../up.env]\n", "local[0]", "outside the definition folder: a local file"},
		{"name: a\nvariants:\n  Review: {}\n", "variants.Review", "invalid name"},
		{"name: a\nvariants:\n  r:\n    databases:\n      nodb: {seed: x.sql}\n", "variants.r.databases.nodb", "not one of the databases"},
		{"name: a\nvariants:\n  r:\n    compose: [/etc/x.yaml]\n", "variants.r.compose[0]", "outside"},
		{"name: a\nports:\n  pin: ['web:http']\n", "ports.pin[0]", "published host ports"},
	} {
		_, err := parseManifest("/defs/a/berth.yaml", []byte(tc.manifest))
		if err == nil {
			t.Errorf("%q: accepted", tc.manifest)
			continue
		}
		found := false
		for _, e := range errorList(t, err) {
			if e.Field == tc.field && e.Line > 0 && strings.Contains(e.Message, tc.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: %v; want %s: %s", tc.manifest, err, tc.field, tc.want)
		}
	}
}

func TestLocalFilesFromTheCheckout(t *testing.T) {
	manifest := "name: shop\nlocal: [.env, api.env, missing.env]\n"
	compose := "services:\n  api:\n    image: api:1\n    env_file: [api.env]\n    environment:\n      FROM_DOTENV: ${FROM_DOTENV:-default}\n"
	// The revision (a workspace) has neither file; the checkout has both,
	// and a link leading out of it that must not be followed.
	ws := t.TempDir()
	writeFiles(t, ws, map[string]string{"berth.yaml": manifest, "compose.yaml": compose})
	checkout := t.TempDir()
	writeFiles(t, checkout, map[string]string{"berth.yaml": manifest, "compose.yaml": compose,
		".env": "FROM_DOTENV=from the checkout\n", "api.env": "API_KEY=local-key\n"})
	ctx := context.Background()

	if _, err := LoadDefinition(ctx, ws, LoadOptions{}); err == nil {
		t.Fatal("the revision alone loaded although api.env is missing")
	}
	p, err := LoadDefinition(ctx, ws, LoadOptions{LocalDir: checkout})
	if err != nil {
		t.Fatal(err)
	}
	api := p.Service("api")
	if api.Environment["FROM_DOTENV"] != "from the checkout" || api.Environment["API_KEY"] != "local-key" {
		t.Fatalf("environment: %v", api.Environment)
	}
	if strings.Join(p.LocalFiles, ",") != ".env,api.env" {
		t.Fatalf("LocalFiles = %v", p.LocalFiles)
	}
	if len(p.Blocked) > 0 {
		t.Fatalf("a local file was blocked: %v", p.Blocked)
	}

	// A file the revision has wins over the checkout's.
	writeFiles(t, ws, map[string]string{"api.env": "API_KEY=committed\n"})
	if p, err = LoadDefinition(ctx, ws, LoadOptions{LocalDir: checkout}); err != nil || p.Service("api").Environment["API_KEY"] != "committed" {
		t.Fatalf("committed file: %v %v", err, p)
	}
	if strings.Join(p.LocalFiles, ",") != ".env" {
		t.Fatalf("LocalFiles = %v", p.LocalFiles)
	}

	// A local name that is a link out of the checkout is not read.
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret.env": "FROM_DOTENV=outside\n"})
	os.Remove(filepath.Join(checkout, ".env"))
	if err := os.Symlink(filepath.Join(outside, "secret.env"), filepath.Join(checkout, ".env")); err != nil {
		t.Fatal(err)
	}
	if p, err = LoadDefinition(ctx, ws, LoadOptions{LocalDir: checkout}); err != nil || p.Service("api").Environment["FROM_DOTENV"] != "default" {
		t.Fatalf("a link out of the checkout was read: %v %v", err, p.Service("api").Environment)
	}
}

// TestSecretsNeverFromTheHost: a declared secret's name is not read from
// the user's environment, set or not, so the capability list (and the
// trust given to it) stays the same when the secret is set; a review load
// goes on without the values.
func TestSecretsNeverFromTheHost(t *testing.T) {
	dir := secretsDef(t, "name: shop\nsecrets:\n  - name: DB_PASSWORD\n  - name: API_TOKEN\n", nil)
	ctx := context.Background()
	host := map[string]string{"DB_PASSWORD": "from the host", "API_TOKEN": "host token"}
	review, err := LoadDefinition(ctx, dir, LoadOptions{HostEnv: host, SecretsOptional: true})
	if err != nil {
		t.Fatalf("a review load without the secrets: %v", err)
	}
	if got := review.Service("api").Environment["DB_PASSWORD"]; got == "from the host" {
		t.Fatal("a declared secret was read from the host")
	}
	set, err := LoadDefinition(ctx, dir, LoadOptions{HostEnv: host, Secret: lookupFrom(map[string]string{"DB_PASSWORD": "stored", "API_TOKEN": "stored token"})})
	if err != nil {
		t.Fatal(err)
	}
	if CapabilityDigest(review.Capabilities) != CapabilityDigest(set.Capabilities) {
		t.Fatalf("setting the secrets changed the capabilities:\n%v\n%v", review.Capabilities, set.Capabilities)
	}
}
