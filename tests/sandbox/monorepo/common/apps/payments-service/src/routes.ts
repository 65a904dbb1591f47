// payments-service routes: health, create a payment, list mine.
'use strict';
const { readJson, send, bearer, httpError } = require('../../../libs/backend-common/src/index.ts');

module.exports = function routes({ db, publish, config }) {
  const health = async (req, res) => {
    await db.query('SELECT 1');
    send(res, 200, { status: 'ok', service: 'payments' });
  };
  return {
    'GET /health': health,
    'GET /api/payments/health': health,
    'POST /api/payments': async (req, res) => {
      const claims = bearer(req, config.jwtSecret);
      if (!claims) throw httpError(401, 'not signed in');
      const { amount, currency, description } = await readJson(req);
      if (!(Number(amount) > 0)) throw httpError(400, 'amount must be positive');
      const client = await db.connect();
      let payment;
      try {
        await client.query('BEGIN');
        ({ rows: [payment] } = await client.query(
          'INSERT INTO payments (user_id, amount, currency, description) VALUES ($1, $2, $3, $4) RETURNING id, user_id, amount, currency, status, description, created_at',
          [claims.sub, amount, currency || 'EUR', description || null],
        ));
        await client.query("INSERT INTO payment_transactions (payment_id, kind, amount) VALUES ($1, 'charge', $2)", [payment.id, amount]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      } finally {
        client.release();
      }
      await publish('payments.created', { userId: claims.sub, paymentId: payment.id, amount: payment.amount, currency: payment.currency });
      send(res, 201, { payment });
    },
    'GET /api/payments': async (req, res) => {
      const claims = bearer(req, config.jwtSecret);
      if (!claims) throw httpError(401, 'not signed in');
      const { rows } = await db.query(
        'SELECT id, user_id, amount, currency, status, description, created_at FROM payments WHERE user_id = $1 ORDER BY id DESC LIMIT 50',
        [claims.sub],
      );
      send(res, 200, { payments: rows });
    },
  };
};

module.exports.onEvent = async () => {};
