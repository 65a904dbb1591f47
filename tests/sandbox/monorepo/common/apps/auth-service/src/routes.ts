// auth-service routes: health, sign-up, sign-in, sign-out (one session or all).
'use strict';
const { readJson, send, bearer, jwtSign, hashPassword, verifyPassword, sha256, httpError } = require('../../../libs/backend-common/src/index.ts');

module.exports = function routes({ db, publish, config }) {
  const health = async (req, res) => {
    await db.query('SELECT 1');
    send(res, 200, { status: 'ok', service: 'auth' });
  };
  return {
    'GET /health': health,
    'GET /api/auth/health': health,
    'POST /api/auth/signup': async (req, res) => {
      const { email, password, name } = await readJson(req);
      if (!email || !password) throw httpError(400, 'email and password are required');
      const { rows } = await db.query(
        'INSERT INTO users (email, password_hash, name) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING RETURNING id, email, name, role',
        [email, hashPassword(password), name || email.split('@')[0]],
      );
      if (!rows.length) throw httpError(409, 'email already registered');
      await publish('auth.user.signed_up', { userId: rows[0].id, email: rows[0].email, name: rows[0].name });
      send(res, 201, { user: rows[0] });
    },
    'POST /api/auth/signin': async (req, res) => {
      const { email, password } = await readJson(req);
      const { rows } = await db.query('SELECT id, email, name, role, password_hash FROM users WHERE email = $1', [email || '']);
      if (!rows.length || !verifyPassword(password || '', rows[0].password_hash)) throw httpError(401, 'invalid credentials');
      const user = rows[0];
      const token = jwtSign({ sub: user.id, role: user.role, nonce: Math.random().toString(36).slice(2) }, config.jwtSecret);
      const session = await db.query(
        "INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, $2, now() + interval '1 hour') RETURNING id",
        [user.id, sha256(token)],
      );
      const sid = session.rows[0].id;
      const accessToken = jwtSign({ sub: user.id, role: user.role, sid }, config.jwtSecret);
      await db.query('UPDATE sessions SET token_hash = $1 WHERE id = $2', [sha256(accessToken), sid]);
      await publish('auth.session.created', { userId: user.id, sessionId: sid });
      send(res, 200, { accessToken, sessionId: sid, user: { id: user.id, email: user.email, name: user.name, role: user.role } });
    },
    'POST /api/auth/signout': async (req, res) => {
      const claims = bearer(req, config.jwtSecret);
      if (!claims) throw httpError(401, 'not signed in');
      const { all } = await readJson(req);
      const { rows } = all
        ? await db.query('DELETE FROM sessions WHERE user_id = $1 RETURNING id', [claims.sub])
        : await db.query('DELETE FROM sessions WHERE id = $1 AND user_id = $2 RETURNING id', [claims.sid, claims.sub]);
      await publish('auth.session.revoked', { userId: claims.sub, sessionIds: rows.map((r) => r.id), all: Boolean(all) });
      send(res, 200, { revoked: rows.length });
    },
    'GET /api/auth/me': async (req, res) => {
      const claims = bearer(req, config.jwtSecret);
      if (!claims) throw httpError(401, 'not signed in');
      const { rows } = await db.query('SELECT id, email, name, role FROM users WHERE id = $1', [claims.sub]);
      send(res, 200, { user: rows[0] || null });
    },
  };
};

// Events from other services: nothing to do yet but acknowledge them.
module.exports.onEvent = async () => {};
