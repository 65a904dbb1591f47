// Proxy routes of the API Gateway (POC-2: disabled; the frontends call the
// services directly). A buffered proxy: it reads the whole request body
// before forwarding it.
'use strict';
const http = require('node:http');

function bufferedProxy(target) {
  const base = new URL(target);
  return (req, res) =>
    new Promise((resolve) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const upstream = http.request(
          { hostname: base.hostname, port: base.port, method: req.method, path: req.url, headers: { ...req.headers, host: base.host, 'content-length': body.length } },
          (up) => {
            const out = [];
            up.on('data', (c) => out.push(c));
            up.on('end', () => {
              res.writeHead(up.statusCode, up.headers);
              res.end(Buffer.concat(out));
              resolve();
            });
          },
        );
        upstream.on('error', () => {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end('{"error":"bad gateway"}');
          resolve();
        });
        upstream.end(body);
      });
    });
}

function registerProxyRoutes(app, config) {
  // app.proxy('/api/auth', bufferedProxy(config.services.auth));
  // app.proxy('/api/payments', bufferedProxy(config.services.payments));
  // app.proxy('/api/admin', bufferedProxy(config.services.admin));
  // app.proxy('/api/profile', bufferedProxy(config.services.profile));
}

module.exports = { registerProxyRoutes, bufferedProxy };
