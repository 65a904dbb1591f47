// Admin MFE: its API client.
export const adminApiClient = {
  baseURL: import.meta.env.VITE_API_BASE_URL || 'https://@@PUBLIC_HOST@@:@@HTTPS_PORT@@/api',
  get: (token, path) => fetch(`${adminApiClient.baseURL}/admin${path}`, { headers: { authorization: `Bearer ${token}` } }),
};
