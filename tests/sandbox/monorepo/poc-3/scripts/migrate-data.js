// pnpm migrate:data: copy each service's tables from the shared mfe_poc2
// database (MFE_POC2_DATABASE_URL) into its own database (*_DATABASE_URL),
// then move each serial sequence past the copied keys. Plain INSERTs in
// batches of 1000; the migration plan uses planrun's postgres.copy_table,
// which is resumable, instead.
'use strict';
const { Client } = require('pg');
const { loadEnv } = require('../libs/backend-common/src/index.ts');

const OWNERS = {
  AUTH_DATABASE_URL: ['users', 'sessions'],
  PAYMENTS_DATABASE_URL: ['payments', 'payment_transactions'],
  ADMIN_DATABASE_URL: ['audit_logs', 'system_settings'],
  PROFILE_DATABASE_URL: ['user_profiles', 'user_preferences'],
};

(async () => {
  loadEnv();
  const source = new Client({ connectionString: process.env.MFE_POC2_DATABASE_URL });
  await source.connect();
  for (const [env, tables] of Object.entries(OWNERS)) {
    const target = new Client({ connectionString: process.env[env] });
    await target.connect();
    for (const table of tables) {
      const { rows } = await source.query(`SELECT * FROM ${table} ORDER BY 1`);
      for (let i = 0; i < rows.length; i += 1000) {
        const batch = rows.slice(i, i + 1000);
        const cols = Object.keys(batch[0]);
        const values = [];
        const tuples = batch.map((r, j) => `(${cols.map((c, k) => { values.push(r[c]); return `$${j * cols.length + k + 1}`; }).join(',')})`);
        await target.query(`INSERT INTO ${table} (${cols.join(',')}) VALUES ${tuples.join(',')}`, values);
      }
      await target.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), coalesce(max(id), 1)) FROM ${table} WHERE pg_get_serial_sequence('${table}', 'id') IS NOT NULL`);
      console.log(`${table}: ${rows.length} rows`);
    }
    await target.end();
  }
  await source.end();
})().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
