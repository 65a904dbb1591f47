// Payments MFE: create and list payments.
export const paymentsApi = {
  baseURL: import.meta.env.VITE_API_BASE_URL || 'https://@@PUBLIC_HOST@@:@@HTTPS_PORT@@/api',
  create: (token, payment) => fetch(`${paymentsApi.baseURL}/payments`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(payment) }),
  list: (token) => fetch(`${paymentsApi.baseURL}/payments`, { headers: { authorization: `Bearer ${token}` } }),
};
