// Admin MFE: its API client.
export const adminApiClient = {
  baseURL: 'http://localhost:@@AUTH_PORT@@',
  get: (token, path) => fetch(`${adminApiClient.baseURL}/admin${path}`, { headers: { authorization: `Bearer ${token}` } }),
};
