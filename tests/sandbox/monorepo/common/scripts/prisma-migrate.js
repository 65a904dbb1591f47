// Stand-in for `prisma migrate deploy` (Prisma's engines cannot be downloaded
// here): for each DIR=ENV argument, applies DIR/migrations/*/migration.sql in
// name order to the database at $ENV, each migration in one transaction, and
// records it in _prisma_migrations exactly as Prisma does (id, checksum =
// SHA-256 of the file, migration_name, started_at, finished_at,
// applied_steps_count). Migrations already recorded as finished are skipped;
// a recorded migration whose file changed is an error, as with Prisma.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('pg');
const { loadEnv } = require('../libs/backend-common/src/index.ts');

const TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

async function deploy(dir, envName) {
  const url = process.env[envName];
  if (!url) throw new Error(`${envName} is not set`);
  const migrationsDir = path.join(dir, 'migrations');
  const names = fs.readdirSync(migrationsDir).filter((n) => fs.existsSync(path.join(migrationsDir, n, 'migration.sql'))).sort();
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(TABLE);
    const { rows } = await client.query('SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL');
    const applied = new Map(rows.map((r) => [r.migration_name, r.checksum]));
    let count = 0;
    for (const name of names) {
      const sql = fs.readFileSync(path.join(migrationsDir, name, 'migration.sql'), 'utf8');
      const checksum = crypto.createHash('sha256').update(sql).digest('hex');
      if (applied.has(name)) {
        if (applied.get(name) !== checksum) throw new Error(`${dir}: migration ${name} was modified after it was applied`);
        continue;
      }
      await client.query('BEGIN');
      try {
        const id = crypto.randomUUID();
        await client.query('INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())', [id, checksum, name]);
        await client.query(sql);
        await client.query('UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [id]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`${dir}: migration ${name} failed: ${err.message}`);
      }
      count += 1;
      console.log(`Applying migration \`${name}\` (${dir})`);
    }
    console.log(`${dir}: ${count} migration(s) applied, ${names.length - count} already in place`);
  } finally {
    await client.end();
  }
}

(async () => {
  loadEnv();
  const targets = process.argv.slice(2).map((a) => a.split('='));
  if (!targets.length) throw new Error('usage: prisma-migrate.js DIR=ENV_VAR ...');
  for (const [dir, env] of targets) await deploy(dir, env);
})().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
