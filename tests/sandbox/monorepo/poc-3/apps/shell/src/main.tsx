// Shell entry (what the dev server loads in the browser).
import { apiClient } from '/libs/shared-api-client/src/lib/apiClient.ts';
import { startSessionSync } from '/libs/shared-websocket/src/index.ts';

document.getElementById('api').textContent = apiClient.baseURL;
startSessionSync();

// Caching: the service worker, over HTTPS only.
if ('serviceWorker' in navigator && location.protocol === 'https:') {
  navigator.serviceWorker.register('/sw.js').then(
    (reg) => { document.body.dataset.serviceWorker = reg.active ? 'active' : 'registered'; },
    (err) => { document.body.dataset.serviceWorker = `failed: ${err.message}`; },
  );
}
