// api-gateway (POC-2): health only; the proxy routes are disabled.
'use strict';
const common = require('../../../libs/backend-common/src/index.ts');

common.loadEnv();
const config = require('./config/index.ts');
const { registerProxyRoutes } = require('./routes/proxy.ts');

const prefixes = [];
registerProxyRoutes({ proxy: (prefix, handler) => prefixes.push([prefix, handler]) }, config);

common.serve('api-gateway', config.port, {
  'GET /health': (req, res) => common.send(res, 200, { status: 'ok', service: 'api-gateway' }),
}, {
  onRequest: async (req, res, url) => {
    const hit = prefixes.find(([p]) => url.pathname === p || url.pathname.startsWith(`${p}/`));
    if (!hit) return false;
    await hit[1](req, res);
    return true;
  },
});
