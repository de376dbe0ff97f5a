// Command shop is the example shop's API and its worker, one binary:
//
//	shop serve    the HTTP API on $LISTEN_ADDR (default :8080)
//	shop worker   every $WORKER_INTERVAL (default 5s) marks new orders paid and
//	              adds their number to a counter in Redis
//	shop health   exits 0 when the local API answers /healthz with 200 (for the
//	              container's health check; the image has no curl)
//
// PostgreSQL is reached with libpq's variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE, PGSSLMODE), Redis at $REDIS_ADDR (default cache:6379).
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "github.com/lib/pq"
)

// paidCounter is the Redis key the worker adds paid orders to.
const paidCounter = "shop:orders_paid"

func main() {
	cmd := "serve"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, nil))
	slog.SetDefault(logger)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var err error
	switch cmd {
	case "serve":
		err = serve(ctx)
	case "worker":
		err = work(ctx)
	case "health":
		err = health(ctx)
	default:
		err = fmt.Errorf("unknown command %q (serve, worker, health)", cmd)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "shop %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// openDB opens the pool; the connection itself is made on first use, so the
// programs start even while the database is not ready yet.
func openDB() (*sql.DB, error) {
	db, err := sql.Open("postgres", "")
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(5)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

func serve(ctx context.Context) error {
	db, err := openDB()
	if err != nil {
		return err
	}
	defer db.Close()

	a := &api{db: db, cache: redisClient{addr: env("REDIS_ADDR", "cache:6379")}}
	addr := env("LISTEN_ADDR", ":8080")
	srv := &http.Server{
		Addr:              addr,
		Handler:           logRequests(a.routes()),
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	slog.Info("api listening", "addr", addr)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("api stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

func work(ctx context.Context) error {
	interval, err := time.ParseDuration(env("WORKER_INTERVAL", "5s"))
	if err != nil || interval <= 0 {
		return fmt.Errorf("WORKER_INTERVAL: want a positive duration such as 5s, got %q", os.Getenv("WORKER_INTERVAL"))
	}
	db, err := openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	cache := redisClient{addr: env("REDIS_ADDR", "cache:6379")}

	slog.Info("worker started", "interval", interval)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			slog.Info("worker stopping")
			return nil
		case <-tick.C:
		}
		ids, err := payNewOrders(ctx, db)
		if err != nil {
			if ctx.Err() == nil {
				slog.Warn("paying orders failed", "err", err)
			}
			continue
		}
		if len(ids) == 0 {
			continue
		}
		total, err := cache.incrBy(ctx, paidCounter, int64(len(ids)))
		if err != nil {
			slog.Warn("orders paid but the counter was not updated", "orders", ids, "err", err)
			continue
		}
		slog.Info("orders paid", "orders", ids, "paid_total", total)
	}
}

// payNewOrders marks up to 100 new orders paid and returns their ids. SKIP LOCKED
// lets several workers run side by side.
func payNewOrders(ctx context.Context, db *sql.DB) ([]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, `
		UPDATE orders SET status = 'paid', paid_at = now()
		WHERE id IN (
			SELECT id FROM orders WHERE status = 'new'
			ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED)
		RETURNING id`)
	if err != nil {
		return nil, fmt.Errorf("update orders: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read paid order: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func health(ctx context.Context) error {
	_, port, err := net.SplitHostPort(env("LISTEN_ADDR", ":8080"))
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("/healthz answered " + resp.Status)
	}
	return nil
}
