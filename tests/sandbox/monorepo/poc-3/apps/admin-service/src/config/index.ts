// admin-service configuration (POC-3: its own database, RabbitMQ, Sentry).
'use strict';
module.exports = {
  port: Number(process.env.ADMIN_SERVICE_PORT || @@ADMIN_PORT@@),
  databaseUrl: process.env.ADMIN_DATABASE_URL,
  rabbitmq: {
    url: process.env.RABBITMQ_URL,
    user: process.env.RABBITMQ_USER,
    password: process.env.RABBITMQ_PASSWORD,
    exchange: 'mfe.events',
    queue: 'admin-service.events',
  },
  cacheUrl: process.env.REDIS_URL,
  jwtSecret: process.env.JWT_SECRET,
  sentryDsn: process.env.SENTRY_DSN,
};
