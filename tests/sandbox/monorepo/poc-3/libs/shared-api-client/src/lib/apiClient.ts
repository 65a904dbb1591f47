// The API client every MFE shares.
export const apiClient = {
  baseURL: import.meta.env.VITE_API_BASE_URL || 'https://@@PUBLIC_HOST@@:@@HTTPS_PORT@@/api',
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
