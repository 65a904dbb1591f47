// Admin MFE: the dashboard's data.
export const dashboardApi = {
  baseURL: import.meta.env.VITE_API_BASE_URL || 'https://@@PUBLIC_HOST@@:@@HTTPS_PORT@@/api',
  load: (token) => fetch(`${dashboardApi.baseURL}/admin/dashboard`, { headers: { authorization: `Bearer ${token}` } }),
};
