package engine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/registry"
)

// dockerConfigAuths is the part of the docker CLI's config.json that holds
// registry credentials.
type dockerConfigAuths struct {
	Auths map[string]struct {
		Auth          string `json:"auth"`
		Username      string `json:"username"`
		Password      string `json:"password"`
		IdentityToken string `json:"identitytoken"`
		RegistryToken string `json:"registrytoken"`
	} `json:"auths"`
	CredsStore  string            `json:"credsStore"`
	CredHelpers map[string]string `json:"credHelpers"`
}

// refDomain returns the registry host of an image reference, or "" for the
// engine's default registry (a first path component without a dot or a
// port, other than localhost, is a repository name, not a host).
func refDomain(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if !ok {
		return ""
	}
	if strings.ContainsAny(first, ".:") || first == "localhost" {
		return first
	}
	return ""
}

// authHost reduces a config.json auths key ("https://host/v1/", "host") to
// its host.
func authHost(key string) string {
	if strings.Contains(key, "://") {
		if u, err := url.Parse(key); err == nil {
			return u.Host
		}
	}
	host, _, _ := strings.Cut(key, "/")
	return host
}

// defaultIndex returns the host of the engine's default registry index, as
// the engine reports it (so that no registry host is written in Berth).
func (e *Engine) defaultIndex(ctx context.Context) string {
	e.indexOnce.Do(func() {
		info, err := e.cli.Info(ctx)
		if err == nil {
			e.indexHost = authHost(info.IndexServerAddress)
		}
	})
	return e.indexHost
}

// registryAuth finds credentials for ref in the docker config's `auths`
// entries and encodes them for the Engine API; "" means anonymous.
// Credential helpers (credsStore, credHelpers) are not supported yet: with
// them Berth pulls anonymously and says so through note.
func (e *Engine) registryAuth(ctx context.Context, ref string, note func(string)) (string, error) {
	ac, err := e.registryCredentials(ctx, refDomain(ref), note)
	if err != nil || ac == nil {
		return "", err
	}
	return registry.EncodeAuthConfig(*ac)
}

// registryCredentials finds the docker config's `auths` entry for a
// registry host ("" is the engine's default registry); nil means none.
func (e *Engine) registryCredentials(ctx context.Context, domain string, note func(string)) (*registry.AuthConfig, error) {
	b, err := os.ReadFile(filepath.Join(e.configDir, "config.json"))
	if err != nil {
		return nil, nil
	}
	var cfg dockerConfigAuths
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("reading registry credentials from %s: %w", filepath.Join(e.configDir, "config.json"), err)
	}
	index := e.defaultIndex(ctx)
	isDefault := func(host string) bool {
		return index != "" && (host == index || host == strings.TrimPrefix(index, "index."))
	}
	for key, a := range cfg.Auths {
		host := authHost(key)
		if !(host == domain || domain == "" && isDefault(host) || isDefault(domain) && isDefault(host)) {
			continue
		}
		ac := registry.AuthConfig{
			Username:      a.Username,
			Password:      a.Password,
			ServerAddress: key,
			IdentityToken: a.IdentityToken,
			RegistryToken: a.RegistryToken,
		}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("registry credentials for %s in the docker config are not valid base64: %w", key, err)
			}
			user, pass, _ := strings.Cut(string(raw), ":")
			ac.Username, ac.Password = user, pass
		}
		if ac.Username == "" && ac.Password == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
			break // an empty entry, as a credential store leaves it
		}
		return &ac, nil
	}
	if cfg.CredsStore != "" || len(cfg.CredHelpers) > 0 {
		note("docker credential helpers are not supported yet; pulling without credentials")
	}
	return nil, nil
}
