package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

type api struct {
	db    *sql.DB
	cache redisClient
}

func (a *api) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /api/products", a.listProducts)
	mux.HandleFunc("GET /api/orders", a.listOrders)
	mux.HandleFunc("GET /api/orders/{id}", a.getOrder)
	mux.HandleFunc("POST /api/orders", a.createOrder)
	mux.HandleFunc("GET /api/stats", a.stats)
	return mux
}

type product struct {
	ID         int64  `json:"id"`
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
	Stock      int64  `json:"stock"`
}

type order struct {
	ID          int64      `json:"id"`
	ProductID   int64      `json:"product_id"`
	ProductName string     `json:"product_name"`
	Quantity    int64      `json:"quantity"`
	TotalCents  int64      `json:"total_cents"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	PaidAt      *time.Time `json:"paid_at"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Warn("writing response failed", "err", err)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// internalError logs err and answers 500 without the details.
func internalError(w http.ResponseWriter, r *http.Request, err error) {
	slog.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.db.PingContext(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *api) listProducts(w http.ResponseWriter, r *http.Request) {
	rows, err := a.db.QueryContext(r.Context(),
		`SELECT id, sku, name, price_cents, stock FROM products ORDER BY id`)
	if err != nil {
		internalError(w, r, err)
		return
	}
	defer rows.Close()
	products := []product{}
	for rows.Next() {
		var p product
		if err := rows.Scan(&p.ID, &p.SKU, &p.Name, &p.PriceCents, &p.Stock); err != nil {
			internalError(w, r, err)
			return
		}
		products = append(products, p)
	}
	if err := rows.Err(); err != nil {
		internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, products)
}

const orderColumns = `o.id, o.product_id, p.name, o.quantity, o.total_cents, o.status, o.created_at, o.paid_at`

func scanOrder(s interface{ Scan(...any) error }) (order, error) {
	var o order
	err := s.Scan(&o.ID, &o.ProductID, &o.ProductName, &o.Quantity, &o.TotalCents, &o.Status, &o.CreatedAt, &o.PaidAt)
	return o, err
}

func (a *api) listOrders(w http.ResponseWriter, r *http.Request) {
	rows, err := a.db.QueryContext(r.Context(),
		`SELECT `+orderColumns+` FROM orders o JOIN products p ON p.id = o.product_id
		 ORDER BY o.id DESC LIMIT 20`)
	if err != nil {
		internalError(w, r, err)
		return
	}
	defer rows.Close()
	orders := []order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			internalError(w, r, err)
			return
		}
		orders = append(orders, o)
	}
	if err := rows.Err(); err != nil {
		internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, orders)
}

func (a *api) getOrder(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "order id must be a number")
		return
	}
	o, err := scanOrder(a.db.QueryRowContext(r.Context(),
		`SELECT `+orderColumns+` FROM orders o JOIN products p ON p.id = o.product_id WHERE o.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		writeError(w, http.StatusNotFound, "no such order")
		return
	}
	if err != nil {
		internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// createOrder takes {"product_id": 1, "quantity": 2} (quantity defaults to 1),
// takes the items from stock and records a new order, in one transaction.
func (a *api) createOrder(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ProductID int64 `json:"product_id"`
		Quantity  int64 `json:"quantity"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "want a JSON body like {\"product_id\": 1, \"quantity\": 2}: "+err.Error())
		return
	}
	if in.Quantity == 0 {
		in.Quantity = 1
	}
	if in.ProductID <= 0 || in.Quantity < 0 || in.Quantity > 1000 {
		writeError(w, http.StatusBadRequest, "product_id must be positive and quantity between 1 and 1000")
		return
	}

	tx, err := a.db.BeginTx(r.Context(), nil)
	if err != nil {
		internalError(w, r, err)
		return
	}
	defer tx.Rollback()

	var price int64
	err = tx.QueryRowContext(r.Context(),
		`UPDATE products SET stock = stock - $2 WHERE id = $1 AND stock >= $2 RETURNING price_cents`,
		in.ProductID, in.Quantity).Scan(&price)
	if errors.Is(err, sql.ErrNoRows) {
		var exists bool
		if err := tx.QueryRowContext(r.Context(),
			`SELECT EXISTS (SELECT 1 FROM products WHERE id = $1)`, in.ProductID).Scan(&exists); err != nil {
			internalError(w, r, err)
			return
		}
		if !exists {
			writeError(w, http.StatusNotFound, "no such product")
			return
		}
		writeError(w, http.StatusConflict, "not enough stock")
		return
	}
	if err != nil {
		internalError(w, r, err)
		return
	}

	var id int64
	if err := tx.QueryRowContext(r.Context(),
		`INSERT INTO orders (product_id, quantity, total_cents) VALUES ($1, $2, $3) RETURNING id`,
		in.ProductID, in.Quantity, price*in.Quantity).Scan(&id); err != nil {
		internalError(w, r, err)
		return
	}
	o, err := scanOrder(tx.QueryRowContext(r.Context(),
		`SELECT `+orderColumns+` FROM orders o JOIN products p ON p.id = o.product_id WHERE o.id = $1`, id))
	if err != nil {
		internalError(w, r, err)
		return
	}
	if err := tx.Commit(); err != nil {
		internalError(w, r, err)
		return
	}
	slog.Info("order created", "order", o.ID, "product", o.ProductID, "quantity", o.Quantity)
	w.Header().Set("Location", "/api/orders/"+strconv.FormatInt(o.ID, 10))
	writeJSON(w, http.StatusCreated, o)
}

// stats counts from PostgreSQL plus the worker's counter from Redis. When Redis
// does not answer, the counter is null and cache_error says why.
func (a *api) stats(w http.ResponseWriter, r *http.Request) {
	var out struct {
		Products     int64   `json:"products"`
		Orders       int64   `json:"orders"`
		OrdersNew    int64   `json:"orders_new"`
		OrdersPaid   int64   `json:"orders_paid"`
		RevenueCents int64   `json:"revenue_cents"`
		PaidByWorker *int64  `json:"paid_by_worker"`
		CacheError   *string `json:"cache_error,omitempty"`
	}
	err := a.db.QueryRowContext(r.Context(), `
		SELECT
			(SELECT count(*) FROM products),
			count(*),
			count(*) FILTER (WHERE status = 'new'),
			count(*) FILTER (WHERE status = 'paid'),
			coalesce(sum(total_cents) FILTER (WHERE status = 'paid'), 0)
		FROM orders`).Scan(&out.Products, &out.Orders, &out.OrdersNew, &out.OrdersPaid, &out.RevenueCents)
	if err != nil {
		internalError(w, r, err)
		return
	}
	n, err := a.cache.getInt(r.Context(), paidCounter)
	if err != nil {
		msg := err.Error()
		out.CacheError = &msg
	} else {
		out.PaidByWorker = &n
	}
	writeJSON(w, http.StatusOK, out)
}

// statusRecorder remembers the status code for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if r.URL.Path == "/healthz" && rec.status == http.StatusOK {
			return // the health check runs every few seconds
		}
		slog.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start).Round(time.Microsecond))
	})
}
