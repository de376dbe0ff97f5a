package spec

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestLoadMariaDB: a mariadb database is found at the image's data folder,
// /var/lib/mysql, and its plain SQL seed (compressed or not) is accepted.
func TestLoadMariaDB(t *testing.T) {
	for _, seed := range []string{"seed.sql", "seed.sql.gz", "seed.sql.zst"} {
		t.Run(seed, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name, text string) {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("berth.yaml", "name: shop\ndatabases:\n  - service: db\n    engine: mariadb\n    source:\n      seed: "+seed+"\n")
			write("compose.yaml", "services:\n  db:\n    image: mariadb:10.11\n    volumes:\n      - db-data:/var/lib/mysql\nvolumes:\n  db-data: {}\n")
			write(seed, "CREATE TABLE t (id int);\n")
			p, err := LoadDefinition(context.Background(), dir, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := Database{Service: "db", Engine: EngineMariaDB, VolumeKey: "db-data", Volume: "shop_db-data", DataDir: DefaultMariaDBData,
				Source: &DatabaseSource{Seed: filepath.Join(dir, seed)}}
			got := p.Databases
			if len(got) != 1 || got[0].Source == nil || *got[0].Source != *want.Source {
				t.Fatalf("databases %+v", got)
			}
			got[0].Source = want.Source
			if got[0] != want {
				t.Errorf("database %+v, want %+v", got[0], want)
			}
		})
	}
}
