-- profile-service: its own database.
CREATE TABLE "user_profiles" (
    "id" SERIAL PRIMARY KEY,
    "user_id" INTEGER NOT NULL UNIQUE,
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
