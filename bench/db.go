package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/engine"
)

// benchDB: database clones of a pgbench database (scale
// BERTH_BENCH_PG_SCALE, default 70, about 1 GB), measured against peers in
// the same run:
//   - clone-to-ready on this engine's volume store (copy-on-write here):
//     from the clone's start until a server on the clone accepts
//     connections; with BERTH_BENCH_PG_BIG=1 also at 4x the scale, to
//     compare 1 GB with 4 GB;
//   - Berth's plain parallel copy (the strategy of stores without
//     copy-on-write) against a raw `cp -a` of the same data folder in a
//     helper container;
//   - the clone against `pg_dump | pg_restore` of the same database into a
//     new server until it accepts connections.
func benchDB() {
	const image = "postgres:15"
	ctx := context.Background()
	e, err := engine.Connect(ctx, engine.Options{})
	check(err)
	defer e.Close()
	port := e.DBClone()
	scale := 70
	if s := os.Getenv("BERTH_BENCH_PG_SCALE"); s != "" {
		scale, err = strconv.Atoi(s)
		check(err)
	}
	b := &dbBench{ctx: ctx, port: port, image: image, id: randHex(4)}
	defer b.cleanup()

	fmt.Printf("db: pgbench scale %d\n", scale)
	src, size, took := b.pgbench(scale)
	fmt.Printf("  source database        %8.2f GB   (pgbench -i -s %d in %.0f s)\n", float64(size)/1e9, scale, took.Seconds())

	auto := dbclone.New(port)
	strategy, err := auto.Strategy(ctx, image, "bench")
	check(err)
	ready := b.cloneToReady(auto, src, 5)
	fmt.Printf("  clone-to-ready (%s) %6.2f s   target <= 2 s   %s\n", strategy, ready.Seconds(), verdict(strategy == dbclone.StrategyReflink && ready <= 2*time.Second))

	// Plain copy against raw cp -a, alternating.
	plain := dbclone.New(port)
	plain.Force = dbclone.StrategyCopy
	// Each copy starts with no dirty pages left by what ran before (the
	// source's creation, the other tool's copy): both are timed from the
	// same state, and the order alternates.
	var berthCopy, rawCopy []time.Duration
	for i := range 4 {
		flush()
		if i%2 == 0 {
			berthCopy = append(berthCopy, b.copyOnce(plain, src))
			flush()
			rawCopy = append(rawCopy, b.rawCopy(src))
		} else {
			rawCopy = append(rawCopy, b.rawCopy(src))
			flush()
			berthCopy = append(berthCopy, b.copyOnce(plain, src))
		}
	}
	bc, rc := med(berthCopy), med(rawCopy)
	thr := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
	fmt.Printf("  plain copy   berth %6.2f s (%4.0f MB/s)   raw cp -a %6.2f s (%4.0f MB/s)   throughput ratio %.2f   target >= 0.8   %s\n",
		bc.Seconds(), thr(bc), rc.Seconds(), thr(rc), rc.Seconds()/bc.Seconds(), verdict(rc.Seconds()/bc.Seconds() >= 0.8))

	// pg_dump | pg_restore of the same database into a new server, until it
	// accepts connections.
	restore := b.dumpRestore(src)
	fmt.Printf("  pg_dump | pg_restore   %6.2f s   clone-to-ready %6.2f s   speed-up %.1fx   target >= 10x   %s\n",
		restore.Seconds(), ready.Seconds(), restore.Seconds()/ready.Seconds(), verdict(restore.Seconds()/ready.Seconds() >= 10))

	if os.Getenv("BERTH_BENCH_PG_BIG") == "1" {
		big, bigSize, took := b.pgbench(4 * scale)
		fmt.Printf("  source database x4     %8.2f GB   (pgbench -i -s %d in %.0f s)\n", float64(bigSize)/1e9, 4*scale, took.Seconds())
		bigReady := b.cloneToReady(auto, big, 5)
		r := bigReady.Seconds() / ready.Seconds()
		fmt.Printf("  clone-to-ready x4 (%s) %6.2f s vs %6.2f s   ratio %.2f   target within 20%%   %s\n", strategy, bigReady.Seconds(), ready.Seconds(), r, verdict(r <= 1.2))
	}
	fmt.Println()
}

type dbBench struct {
	ctx        context.Context
	port       dbclone.Engine
	image, id  string
	n          int
	volumes    []string
	containers []string
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (b *dbBench) name(what string) string {
	b.n++
	return fmt.Sprintf("berth-bench-db-%s-%s-%d", b.id, what, b.n)
}

func (b *dbBench) volume(what string) string {
	v := b.name(what)
	check(b.port.CreateVolume(b.ctx, v, map[string]string{"dev.berth.bench": b.id}, nil))
	b.volumes = append(b.volumes, v)
	return v
}

// flush writes the engine host's dirty pages back (the bench runs on the
// engine's host, as its volumes are read through helpers and docker).
func flush() { _ = exec.Command("sync").Run() }

func (b *dbBench) dropVolume(v string) { _ = b.port.RemoveVolume(context.Background(), v) }

func (b *dbBench) cleanup() {
	for _, c := range b.containers {
		_ = exec.Command("docker", "rm", "-f", "-v", c).Run()
	}
	for _, v := range b.volumes {
		b.dropVolume(v)
	}
}

func docker(args ...string) string {
	out, err := exec.Command("docker", args...).CombinedOutput()
	check(errIf(err, out))
	return strings.TrimSpace(string(out))
}

// server starts PostgreSQL on vol (labelled as Berth's, so the cloner may
// stop it) and returns the container once it accepts TCP connections.
func (b *dbBench) server(vol string) string {
	c := b.name("pg")
	docker("run", "-d", "--name", c, "--label", "dev.berth.managed=true", "--label", "dev.berth.bench="+b.id,
		"-e", "POSTGRES_USER=bench", "-e", "POSTGRES_PASSWORD=bench", "-e", "POSTGRES_DB=bench",
		"-v", vol+":/var/lib/postgresql/data", b.image)
	b.containers = append(b.containers, c)
	b.waitReady(c)
	return c
}

func (b *dbBench) waitReady(c string) {
	for deadline := time.Now().Add(10 * time.Minute); ; {
		if exec.Command("docker", "exec", c, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "bench", "-d", "bench").Run() == nil {
			return
		}
		if time.Now().After(deadline) {
			check(fmt.Errorf("%s did not become ready", c))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *dbBench) drop(c string) { _ = exec.Command("docker", "rm", "-f", "-v", c).Run() }

func (b *dbBench) target(vol string) dbclone.Target {
	return dbclone.Target{Env: "bench", Service: "db", Image: b.image, Volume: vol, MountDir: "/var/lib/postgresql/data",
		User: "bench", Password: "bench", Database: "bench"}
}

// pgbench builds a pgbench database at scale on a new volume and stops
// its server cleanly; it returns the volume and its size.
func (b *dbBench) pgbench(scale int) (string, int64, time.Duration) {
	vol := b.volume("src")
	start := time.Now()
	c := b.server(vol)
	docker("exec", c, "pgbench", "-i", "-q", "-s", strconv.Itoa(scale), "-U", "bench", "bench")
	docker("stop", "-t", "120", c)
	took := time.Since(start)
	b.drop(c)
	size, err := dbclone.New(b.port).Size(b.ctx, b.image, vol)
	check(err)
	return vol, size, took
}

// cloneToReady times what `berth db clone` does to an environment whose
// database container exists: src is copied with c into the container's
// volume, the container is started, and the clock stops when the server
// accepts a connection (a PostgreSQL start-up packet over TCP, through the
// container's published port, answered with anything but "starting up",
// as pg_isready does; polled every 5 ms from this process, so that no
// docker exec's own cost is counted). The container is created before the
// clock starts, as `berth up` had made it.
// The median of runs.
func (b *dbBench) cloneToReady(c *dbclone.Cloner, src string, runs int) time.Duration {
	var ds []time.Duration
	for range runs {
		vol := b.volume("clone")
		srv, addr := b.create(vol)
		t := b.target(vol)
		t.Container = srv
		start := time.Now()
		_, err := c.Clone(b.ctx, dbclone.Source{Kind: "golden", Volume: src, Name: "the pgbench database"}, t, nil)
		check(err)
		check(b.port.StartContainer(b.ctx, srv))
		waitAccepting(addr, time.Minute)
		ds = append(ds, time.Since(start))
		b.drop(srv)
		b.dropVolume(vol)
	}
	return med(ds)
}

// create makes (without starting it) a PostgreSQL container on vol,
// labelled as Berth's, its port published on a free loopback port; it
// returns the container and that address.
func (b *dbBench) create(vol string) (string, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	addr := ln.Addr().String()
	check(ln.Close())
	c := b.name("pg")
	docker("create", "--name", c, "--label", "dev.berth.managed=true", "--label", "dev.berth.bench="+b.id,
		"-e", "POSTGRES_USER=bench", "-e", "POSTGRES_PASSWORD=bench", "-e", "POSTGRES_DB=bench",
		"-p", addr+":5432", "-v", vol+":/var/lib/postgresql/data", b.image)
	b.containers = append(b.containers, c)
	return c, addr
}

// waitAccepting polls addr until a PostgreSQL server there accepts
// connections, or fails the bench after limit.
func waitAccepting(addr string, limit time.Duration) {
	for deadline := time.Now().Add(limit); ; {
		if pgAccepting(addr) {
			return
		}
		if time.Now().After(deadline) {
			check(fmt.Errorf("no PostgreSQL server accepting connections at %s after %s", addr, limit))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pgAccepting sends a protocol 3 start-up packet to addr and reports
// whether the server answered as one that accepts connections: an
// authentication request, or any error but 57P03 (the database system is
// starting up, shutting down or in recovery).
func pgAccepting(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	var body []byte
	body = binary.BigEndian.AppendUint32(body, 3<<16)
	for _, kv := range []string{"user", "bench", "database", "bench"} {
		body = append(append(body, kv...), 0)
	}
	body = append(body, 0)
	msg := binary.BigEndian.AppendUint32(nil, uint32(4+len(body)))
	if _, err := conn.Write(append(msg, body...)); err != nil {
		return false
	}
	head := make([]byte, 5)
	if _, err := io.ReadFull(conn, head); err != nil {
		return false
	}
	switch head[0] {
	case 'R':
		return true
	case 'E':
		n := int(binary.BigEndian.Uint32(head[1:])) - 4
		if n <= 0 || n > 1<<16 {
			return false
		}
		fields := make([]byte, n)
		if _, err := io.ReadFull(conn, fields); err != nil {
			return false
		}
		// Fields: a type byte, then a NUL-terminated string; 'C' is the
		// SQLSTATE.
		for _, f := range bytes.Split(fields, []byte{0}) {
			if len(f) > 1 && f[0] == 'C' {
				return string(f[1:]) != "57P03"
			}
		}
		return false
	}
	return false
}

func (b *dbBench) copyOnce(c *dbclone.Cloner, src string) time.Duration {
	vol := b.volume("copy")
	defer b.dropVolume(vol)
	start := time.Now()
	_, err := c.Clone(b.ctx, dbclone.Source{Kind: "golden", Volume: src, Name: "the pgbench database"}, b.target(vol), nil)
	check(err)
	return time.Since(start)
}

// rawCopy is the peer of the plain copy: cp -a of the same folder in a
// helper container mounting both volumes, without copy-on-write.
func (b *dbBench) rawCopy(src string) time.Duration {
	vol := b.volume("raw")
	defer b.dropVolume(vol)
	start := time.Now()
	docker("run", "--rm", "--label", "dev.berth.bench="+b.id, "-v", src+":/from:ro", "-v", vol+":/to", "--entrypoint", "cp", b.image,
		"-a", "--reflink=never", "/from/.", "/to/")
	return time.Since(start)
}

// dumpRestore is the logical peer: a server on a copy of the source is
// dumped with pg_dump and piped into pg_restore on a new server, until
// that server accepts connections. The source's own server start is not
// counted.
func (b *dbBench) dumpRestore(src string) time.Duration {
	from := b.volume("dump-src")
	defer b.dropVolume(from)
	cp := dbclone.New(b.port)
	_, err := cp.Clone(b.ctx, dbclone.Source{Kind: "golden", Volume: src, Name: "source"}, b.target(from), nil)
	check(err)
	a := b.server(from)
	defer b.drop(a)
	to := b.volume("restore")
	defer b.dropVolume(to)
	start := time.Now()
	dst := b.server(to)
	defer b.drop(dst)
	ip := docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", a)
	docker("exec", "-e", "PGPASSWORD=bench", dst, "bash", "-c",
		"set -o pipefail; pg_dump -Fc -h "+ip+" -U bench bench | pg_restore --no-owner -h 127.0.0.1 -U bench -d bench")
	b.waitReady(dst)
	return time.Since(start)
}
