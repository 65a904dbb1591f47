// admin-service routes: health, the dashboard, a test error for Sentry; every
// event of the other services becomes an audit log row.
'use strict';
const { send, bearer, httpError } = require('../../../libs/backend-common/src/index.ts');

module.exports = function routes({ db, config }) {
  const health = async (req, res) => {
    await db.query('SELECT 1');
    send(res, 200, { status: 'ok', service: 'admin' });
  };
  return {
    'GET /health': health,
    'GET /api/admin/health': health,
    'GET /api/admin/dashboard': async (req, res) => {
      const claims = bearer(req, config.jwtSecret);
      if (!claims) throw httpError(401, 'not signed in');
      if (claims.role !== 'admin') throw httpError(403, 'admins only');
      const logs = await db.query('SELECT count(*)::int AS n FROM audit_logs');
      const recent = await db.query('SELECT id, action, entity, entity_id, created_at FROM audit_logs ORDER BY id DESC LIMIT 10');
      const settings = await db.query('SELECT count(*)::int AS n FROM system_settings');
      send(res, 200, { dashboard: { auditLogs: logs.rows[0].n, settings: settings.rows[0].n, recent: recent.rows } });
    },
    'GET /api/admin/debug/error': async () => {
      throw new Error(`admin-service test error ${new Date().toISOString()}`);
    },
  };
};

module.exports.onEvent = async ({ db }, topic, payload) => {
  await db.query('INSERT INTO audit_logs (actor_id, action, entity, entity_id, details) VALUES ($1, $2, $3, $4, $5)', [
    payload.userId || null,
    topic,
    topic.split('.')[0],
    String(payload.paymentId || payload.userId || ''),
    JSON.stringify(payload),
  ]);
};
