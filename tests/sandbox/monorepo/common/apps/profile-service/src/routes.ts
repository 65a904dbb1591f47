// profile-service routes: health, read and update my profile; a new user
// (auth.user.signed_up) gets a profile.
'use strict';
const { readJson, send, bearer, httpError } = require('../../../libs/backend-common/src/index.ts');

module.exports = function routes({ db, publish, config }) {
  const health = async (req, res) => {
    await db.query('SELECT 1');
    send(res, 200, { status: 'ok', service: 'profile' });
  };
  return {
    'GET /health': health,
    'GET /api/profile/health': health,
    'GET /api/profile/me': async (req, res) => {
      const claims = bearer(req, config.jwtSecret);
      if (!claims) throw httpError(401, 'not signed in');
      const { rows } = await db.query('SELECT id, user_id, display_name, bio, updated_at FROM user_profiles WHERE user_id = $1', [claims.sub]);
      send(res, 200, { profile: rows[0] || null });
    },
    'PUT /api/profile/me': async (req, res) => {
      const claims = bearer(req, config.jwtSecret);
      if (!claims) throw httpError(401, 'not signed in');
      const { displayName, bio } = await readJson(req);
      const { rows } = await db.query(
        `INSERT INTO user_profiles (user_id, display_name, bio) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET display_name = EXCLUDED.display_name, bio = EXCLUDED.bio, updated_at = now()
         RETURNING id, user_id, display_name, bio, updated_at`,
        [claims.sub, displayName || null, bio || null],
      );
      await publish('profile.updated', { userId: claims.sub, profileId: rows[0].id });
      send(res, 200, { profile: rows[0] });
    },
  };
};

module.exports.onEvent = async ({ db }, topic, payload) => {
  if (topic === 'auth.user.signed_up') {
    await db.query('INSERT INTO user_profiles (user_id, display_name) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING', [payload.userId, payload.name]);
  }
};
