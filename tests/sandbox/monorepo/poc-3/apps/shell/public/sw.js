// Service worker: cache-first for the app shell, network for the API.
const CACHE = 'mfe-shell-v3';
self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(['/', '/apps/shell/src/main.tsx'])));
  self.skipWaiting();
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.pathname.startsWith('/api/') || url.pathname === '/ws') return;
  event.respondWith(caches.match(event.request).then((hit) => hit || fetch(event.request)));
});
