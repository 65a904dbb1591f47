// Admin MFE: the dashboard's data.
export const dashboardApi = {
  baseURL: 'http://localhost:@@AUTH_PORT@@',
  load: (token) => fetch(`${dashboardApi.baseURL}/admin/dashboard`, { headers: { authorization: `Bearer ${token}` } }),
};
