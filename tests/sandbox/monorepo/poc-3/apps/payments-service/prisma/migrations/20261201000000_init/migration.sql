-- payments-service: its own database.
CREATE TABLE "payments" (
    "id" SERIAL PRIMARY KEY,
    "user_id" INTEGER NOT NULL,
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
