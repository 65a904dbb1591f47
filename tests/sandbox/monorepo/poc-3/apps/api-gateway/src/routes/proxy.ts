// Proxy routes of the API Gateway (POC-3): a streaming proxy. The request
// body is piped to the service as it arrives (no body parser in front), and
// the response is piped back with its status and headers.
'use strict';
const http = require('node:http');
const { pipeline } = require('node:stream');

function streamingProxy(target) {
  const base = new URL(target);
  return (req, res) =>
    new Promise((resolve) => {
      const upstream = http.request(
        { hostname: base.hostname, port: base.port, method: req.method, path: req.url, headers: { ...req.headers, host: base.host } },
        (up) => {
          res.writeHead(up.statusCode, up.headers);
          pipeline(up, res, () => resolve());
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end('{"error":"bad gateway"}');
        resolve();
      });
      pipeline(req, upstream, () => {});
    });
}

function registerProxyRoutes(app, config) {
  app.proxy('/api/auth', streamingProxy(config.services.auth));
  app.proxy('/api/payments', streamingProxy(config.services.payments));
  app.proxy('/api/admin', streamingProxy(config.services.admin));
  app.proxy('/api/profile', streamingProxy(config.services.profile));
}

module.exports = { registerProxyRoutes, streamingProxy };
