-- A few rows to start with.
INSERT INTO products (sku, name, price_cents, stock) VALUES
    ('MUG-01',  'Harbour mug',          1200, 40),
    ('TEE-02',  'Berth T-shirt',        2500, 25),
    ('CAP-03',  'Captain''s cap',       1800, 12),
    ('ROPE-04', 'Mooring rope, 10 m',   4900,  5),
    ('MAP-05',  'Chart of the harbour',  900, 60);

INSERT INTO orders (product_id, quantity, total_cents, status, created_at, paid_at) VALUES
    (1, 2, 2400, 'paid', now() - interval '2 days', now() - interval '2 days'),
    (3, 1, 1800, 'paid', now() - interval '1 day',  now() - interval '1 day');
