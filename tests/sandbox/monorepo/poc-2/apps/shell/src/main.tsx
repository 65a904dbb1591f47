// Shell entry (what the dev server loads in the browser).
import { apiClient } from '/libs/shared-api-client/src/lib/apiClient.ts';

document.getElementById('api').textContent = apiClient.baseURL;
