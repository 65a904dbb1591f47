// WebSocket server of the API Gateway: clients connect to /ws?token=<JWT>
// (browsers cannot set headers on a WebSocket); events for a user reach
// every connection of that user; a revoked session is closed (session sync).
'use strict';
const { WebSocketServer } = require('ws');
const { jwtVerify } = require('../../../../libs/backend-common/src/index.ts');

exports.attachWebSocket = function attachWebSocket(server, config) {
  const wss = new WebSocketServer({ noServer: true });
  const clients = new Set();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname !== config.wsPath) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const claims = jwtVerify(url.searchParams.get('token'), config.jwtSecret);
    if (!claims) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.user = claims;
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
      ws.send(JSON.stringify({ type: 'welcome', userId: claims.sub, sessionId: claims.sid }));
    });
  });
  return {
    count: () => clients.size,
    broadcast(topic, payload) {
      for (const ws of clients) {
        if (payload.userId !== undefined && ws.user.sub !== payload.userId) continue;
        ws.send(JSON.stringify({ type: topic, payload }));
        if (topic === 'auth.session.revoked' && (payload.all || (payload.sessionIds || []).includes(ws.user.sid))) {
          ws.close(4001, 'session revoked');
        }
      }
    },
  };
};
