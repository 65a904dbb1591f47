// api-gateway configuration.
'use strict';
module.exports = {
  port: Number(process.env.API_GATEWAY_PORT || @@GATEWAY_PORT@@),
  services: {
    auth: 'http://127.0.0.1:@@AUTH_PORT@@',
    payments: 'http://127.0.0.1:@@PAYMENTS_PORT@@',
    admin: 'http://127.0.0.1:@@ADMIN_PORT@@',
    profile: 'http://127.0.0.1:@@PROFILE_PORT@@',
  },
  wsPath: '/ws',
  jwtSecret: process.env.JWT_SECRET,
  rabbitmq: {
    url: process.env.RABBITMQ_URL,
    user: process.env.RABBITMQ_USER,
    password: process.env.RABBITMQ_PASSWORD,
    exchange: 'mfe.events',
    queue: 'api-gateway.realtime',
  },
  sentryDsn: process.env.SENTRY_DSN,
};
