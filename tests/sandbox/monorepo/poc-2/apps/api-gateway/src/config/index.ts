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
};
