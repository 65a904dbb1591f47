// Payments MFE: create and list payments.
export const paymentsApi = {
  baseURL: 'http://localhost:@@AUTH_PORT@@',
  create: (token, payment) => fetch(`${paymentsApi.baseURL}/payments`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(payment) }),
  list: (token) => fetch(`${paymentsApi.baseURL}/payments`, { headers: { authorization: `Bearer ${token}` } }),
};
