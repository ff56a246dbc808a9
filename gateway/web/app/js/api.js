// Calls to the gateway's REST API, same origin. Errors come back as `ApiError` with the
// server's `detail` made readable (a 422 list becomes one line per field).

import * as session from './session.js';

export class ApiError extends Error {
  constructor(status, detail) {
    super(detailText(detail) || `Request failed (${status})`);
    this.status = status;
    this.detail = detail;
  }
}

/// `{"detail": "..."}` or FastAPI-style `[{"loc": [...], "msg"}]` as text a person can read.
export function detailText(detail) {
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => {
      const loc = Array.isArray(item.loc) ? item.loc.filter((part) => part !== 'body' && part !== 'query' && part !== 'path') : [];
      const where = loc.length ? `${loc.join('.').replaceAll('_', ' ')}: ` : '';
      return `${where}${item.msg || 'invalid value'}`;
    }).join('\n');
  }
  return '';
}

// Set by the re-authentication dialog: resolves to true once the user signed in again.
let reauthenticate = async () => false;
export function onSessionExpired(handler) {
  reauthenticate = handler;
}

async function send(method, path, options) {
  const headers = {};
  let body;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  if (options.auth && session.token()) headers.Authorization = `Bearer ${session.token()}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body, signal: options.signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'The server cannot be reached. Check that pricealert is running.');
  }
  if (response.status === 204) return { response, data: null };
  let data = null;
  if ((response.headers.get('Content-Type') || '').startsWith('application/json')) {
    data = await response.json().catch(() => null);
  }
  return { response, data };
}

/// `options`: `json` (a body), `auth` (send the token), `signal`.
export async function api(method, path, options = {}) {
  let { response, data } = await send(method, path, options);
  if (response.status === 401 && options.auth) {
    // An expired or revoked session: ask to sign in again in a dialog, keeping the page (and
    // any form being edited) as it is, then repeat the request once.
    if (await reauthenticate()) ({ response, data } = await send(method, path, options));
  }
  if (!response.ok) {
    const retry = response.headers.get('Retry-After');
    const detail = data && data.detail !== undefined ? data.detail : `Request failed (${response.status})`;
    const error = new ApiError(response.status, detail);
    if (retry && response.status === 429) error.message += ` Try again in ${retry} s.`;
    throw error;
  }
  return data;
}

export const get = (path, options = {}) => api('GET', path, options);
export const authed = {
  get: (path, options = {}) => api('GET', path, { ...options, auth: true }),
  post: (path, json, options = {}) => api('POST', path, { ...options, json, auth: true }),
  put: (path, json, options = {}) => api('PUT', path, { ...options, json, auth: true }),
  patch: (path, json, options = {}) => api('PATCH', path, { ...options, json, auth: true }),
  delete: (path, options = {}) => api('DELETE', path, { ...options, auth: true }),
};

/// Signs in with the JSON login body; the token is kept by `session`.
export async function login(email, password) {
  const answer = await api('POST', '/auth/login', { json: { email, password } });
  session.signIn(email, answer.access_token, answer.expires_in || 86400);
  return answer;
}
