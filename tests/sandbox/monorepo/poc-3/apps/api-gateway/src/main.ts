// api-gateway (POC-3): streaming proxy to the services, WebSocket at /ws fed
// by RabbitMQ (queue api-gateway.realtime), Prometheus metrics, Sentry.
'use strict';
const common = require('../../../libs/backend-common/src/index.ts');

common.loadEnv();
const config = require('./config/index.ts');
const { registerProxyRoutes } = require('./routes/proxy.ts');
const { attachWebSocket } = require('./ws/server.ts');
const { startRealtime } = require('./events/realtime.ts');

const prefixes = [];
registerProxyRoutes({ proxy: (prefix, handler) => prefixes.push([prefix, handler]) }, config);
const metrics = { requests: 0, proxied: 0, events: 0 };

const server = common.serve('api-gateway', config.port, {
  'GET /health': (req, res) => common.send(res, 200, { status: 'ok', service: 'api-gateway' }),
  'GET /metrics': (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end([
      '# HELP gateway_http_requests_total HTTP requests received.',
      '# TYPE gateway_http_requests_total counter',
      `gateway_http_requests_total ${metrics.requests}`,
      '# HELP gateway_proxied_requests_total Requests proxied to a service.',
      '# TYPE gateway_proxied_requests_total counter',
      `gateway_proxied_requests_total ${metrics.proxied}`,
      '# HELP gateway_realtime_events_total Events pushed to WebSocket clients.',
      '# TYPE gateway_realtime_events_total counter',
      `gateway_realtime_events_total ${metrics.events}`,
      '# HELP gateway_websocket_clients Connected WebSocket clients.',
      '# TYPE gateway_websocket_clients gauge',
      `gateway_websocket_clients ${ws.count()}`,
      '',
    ].join('\n'));
  },
}, {
  onRequest: async (req, res, url) => {
    metrics.requests += 1;
    const hit = prefixes.find(([p]) => url.pathname === p || url.pathname.startsWith(`${p}/`));
    if (!hit) return false;
    metrics.proxied += 1;
    await hit[1](req, res);
    return true;
  },
});

const ws = attachWebSocket(server, config);
startRealtime(config, (topic, payload) => {
  metrics.events += 1;
  ws.broadcast(topic, payload);
});
