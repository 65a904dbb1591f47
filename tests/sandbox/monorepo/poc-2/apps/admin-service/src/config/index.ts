// admin-service configuration (POC-2: the shared database, Redis Pub/Sub).
'use strict';
module.exports = {
  port: Number(process.env.ADMIN_SERVICE_PORT || @@ADMIN_PORT@@),
  databaseUrl: process.env.DATABASE_URL,
  redisUrl: process.env.REDIS_URL,
  jwtSecret: process.env.JWT_SECRET,
  // Redis channels (glob patterns) this service listens to.
  subscriptions: ['auth.*', 'payments.*', 'profile.*'],
};
