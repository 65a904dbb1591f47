-- POC-2: the shared database of every service.
CREATE TABLE "users" (
    "id" SERIAL PRIMARY KEY,
    "email" TEXT NOT NULL UNIQUE,
    "password_hash" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL DEFAULT 'user',
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE "sessions" (
    "id" SERIAL PRIMARY KEY,
    "user_id" INTEGER NOT NULL REFERENCES "users"("id") ON DELETE CASCADE,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "expires_at" TIMESTAMPTZ NOT NULL
);

CREATE TABLE "payments" (
    "id" SERIAL PRIMARY KEY,
    "user_id" INTEGER NOT NULL REFERENCES "users"("id"),
    "amount" NUMERIC(12,2) NOT NULL,
    "currency" TEXT NOT NULL DEFAULT 'EUR',
    "status" TEXT NOT NULL DEFAULT 'completed',
    "description" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE "payment_transactions" (
    "id" SERIAL PRIMARY KEY,
    "payment_id" INTEGER NOT NULL REFERENCES "payments"("id") ON DELETE CASCADE,
    "kind" TEXT NOT NULL,
    "amount" NUMERIC(12,2) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE "audit_logs" (
    "id" BIGSERIAL PRIMARY KEY,
    "actor_id" INTEGER,
    "action" TEXT NOT NULL,
    "entity" TEXT NOT NULL,
    "entity_id" TEXT,
    "details" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE "system_settings" (
    "key" TEXT PRIMARY KEY,
    "value" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE "user_profiles" (
    "id" SERIAL PRIMARY KEY,
    "user_id" INTEGER NOT NULL UNIQUE REFERENCES "users"("id"),
    "display_name" TEXT,
    "bio" TEXT,
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE "user_preferences" (
    "id" SERIAL PRIMARY KEY,
    "profile_id" INTEGER NOT NULL REFERENCES "user_profiles"("id") ON DELETE CASCADE,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    UNIQUE ("profile_id", "key")
);

CREATE TABLE "newsletter_subscribers" (
    "id" SERIAL PRIMARY KEY,
    "email" TEXT NOT NULL,
    "subscribed_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
