// The API client every MFE shares.
export const apiClient = {
  baseURL: 'http://localhost:@@AUTH_PORT@@',
  async request(path, { method = 'GET', body, token } = {}) {
    const res = await fetch(`${this.baseURL}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
    return res.json();
  },
};
