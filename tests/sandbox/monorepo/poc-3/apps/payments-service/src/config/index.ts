// payments-service configuration (POC-3: its own database, RabbitMQ, Sentry).
'use strict';
module.exports = {
  port: Number(process.env.PAYMENTS_SERVICE_PORT || @@PAYMENTS_PORT@@),
  databaseUrl: process.env.PAYMENTS_DATABASE_URL,
  rabbitmq: {
    url: process.env.RABBITMQ_URL,
    user: process.env.RABBITMQ_USER,
    password: process.env.RABBITMQ_PASSWORD,
    exchange: 'mfe.events',
    queue: 'payments-service.events',
  },
  cacheUrl: process.env.REDIS_URL,
  jwtSecret: process.env.JWT_SECRET,
  sentryDsn: process.env.SENTRY_DSN,
};
