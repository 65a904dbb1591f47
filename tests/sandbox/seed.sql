-- Seed data of mfe_poc2 (run by `world.sh up` once the POC-2 migration is in
-- place). Deterministic: the same rows on every machine. Keys come from the
-- serial sequences, and some rows are deleted again, so every sequence is
-- ahead of its table's row count: a copy that resets sequences from the row
-- count, or not at all, collides on the first insert after the migration.
-- psql variables: test_email, test_hash (scrypt hash of the test user's password).
\set ON_ERROR_STOP on
BEGIN;

INSERT INTO users (email, password_hash, name, role, created_at)
VALUES (:'test_email', :'test_hash', 'Test User', 'admin', '2026-01-01T00:00:00Z');
INSERT INTO users (email, password_hash, name, role, created_at)
SELECT 'user' || i || '@example.test', 'scrypt$seed$' || md5(i::text), 'User ' || i,
       CASE WHEN i % 50 = 0 THEN 'admin' ELSE 'user' END,
       timestamptz '2026-01-01T00:00:00Z' + i * interval '7 minutes'
FROM generate_series(2, 2000) i;
DELETE FROM users WHERE id % 97 = 0;

INSERT INTO sessions (user_id, token_hash, created_at, expires_at)
SELECT u.id, md5('session' || g), timestamptz '2026-02-01T00:00:00Z' + g * interval '1 minute',
       timestamptz '2026-02-01T01:00:00Z' + g * interval '1 minute'
FROM generate_series(1, 3000) g JOIN users u ON u.id = 1 + (g * 7) % 2000;
DELETE FROM sessions WHERE id % 11 = 0;

INSERT INTO payments (user_id, amount, currency, status, description, created_at)
SELECT u.id, ((g * 37) % 100000) / 100.0 + 1, CASE WHEN g % 3 = 0 THEN 'USD' ELSE 'EUR' END,
       CASE WHEN g % 17 = 0 THEN 'refunded' ELSE 'completed' END, 'order #' || g,
       timestamptz '2026-01-15T00:00:00Z' + g * interval '3 minutes'
FROM generate_series(1, 20000) g JOIN users u ON u.id = 1 + (g * 13) % 2000;
DELETE FROM payments WHERE id % 10 = 0;

INSERT INTO payment_transactions (payment_id, kind, amount, created_at)
SELECT p.id, k.kind, p.amount, p.created_at + interval '1 second'
FROM payments p CROSS JOIN (VALUES ('authorize'), ('charge')) AS k(kind)
ORDER BY p.id, k.kind;
DELETE FROM payment_transactions WHERE id % 13 = 0;

-- The large table: its copy takes many batches (the plan's copy_batch_size).
INSERT INTO audit_logs (actor_id, action, entity, entity_id, details, created_at)
SELECT 1 + g % 2000, (ARRAY['auth.session.created', 'payments.created', 'profile.updated', 'auth.user.signed_up'])[1 + g % 4],
       (ARRAY['auth', 'payments', 'profile', 'auth'])[1 + g % 4], (g % 20000)::text,
       jsonb_build_object('seq', g, 'note', md5(g::text)),
       timestamptz '2026-01-01T00:00:00Z' + g * interval '20 seconds'
FROM generate_series(1, 120000) g;
DELETE FROM audit_logs WHERE id % 1000 = 0;

INSERT INTO system_settings (key, value, updated_at)
SELECT 'setting.' || lpad(g::text, 3, '0'), md5('value' || g), '2026-01-01T00:00:00Z'
FROM generate_series(1, 40) g;

INSERT INTO user_profiles (user_id, display_name, bio, updated_at)
SELECT id, name, 'Bio of ' || name, created_at FROM users WHERE id % 4 <> 3 ORDER BY id;
DELETE FROM user_profiles WHERE id % 23 = 0;

INSERT INTO user_preferences (profile_id, key, value)
SELECT p.id, k.key, k.key || '-' || (p.id % 5)
FROM user_profiles p CROSS JOIN (VALUES ('theme'), ('language'), ('currency')) AS k(key)
ORDER BY p.id, k.key;

-- No service owns this table: the migration must account for it.
INSERT INTO newsletter_subscribers (email, subscribed_at)
SELECT 'reader' || g || '@example.test', timestamptz '2026-03-01T00:00:00Z' + g * interval '1 hour'
FROM generate_series(1, 250) g;

COMMIT;
