// The service's HTTP API as functions: JSON in, JSON out, problem+json errors raised as ApiError.

/** An error answer from the service (status 0: the service could not be reached). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem || {};
  }

  /**
   * The message to show a person, as a sentence: the problem's detail (it says what happened; the title is a
   * category such as "Unauthorized" or "Invalid input"), else its title.
   */
  get explanation() {
    const { title, detail } = this.problem;
    return sentence(detail || title || this.message);
  }
}

/**
 * The API client. `headersOf()` gives the authentication headers of the current session;
 * `onUnauthorized(error)` is told about every 401 (the session is no longer accepted).
 */
export function createApi({ headersOf, onUnauthorized = () => {} }) {
  async function request(method, path, { body, headers = {}, query, signal } = {}) {
    const url = query ? `${path}?${new URLSearchParams(clean(query))}` : path;
    const allHeaders = { Accept: 'application/json', ...headersOf(), ...headers };
    if (body !== undefined) allHeaders['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(url, {
        method,
        headers: allHeaders,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        cache: 'no-store',
      });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new ApiError(0, {
        title: 'The service could not be reached',
        detail: 'The service could not be reached. Check your connection, then try again.',
      });
    }
    if (response.status === 204) return null;
    const type = response.headers.get('content-type') || '';
    const data = type.includes('json') ? await response.json().catch(() => null) : await response.text();
    if (!response.ok) {
      const problem = data && typeof data === 'object' ? data : { title: response.statusText, detail: data || '' };
      const error = new ApiError(response.status, problem);
      if (response.status === 401) onUnauthorized(error);
      throw error;
    }
    return data;
  }

  return {
    meta: () => request('GET', '/api/v1/meta'),
    listAgents: () => request('GET', '/api/v1/agents'),
    createPanel: (body, idempotencyKey) =>
      request('POST', '/api/v1/panels', { body, headers: { 'Idempotency-Key': idempotencyKey } }),
    getPanel: (panelId) => request('GET', `/api/v1/panels/${encodeURIComponent(panelId)}`),
    listPanels: ({ status, panelType, limit = 20, offset = 0 } = {}) =>
      request('GET', '/api/v1/panels', { query: { status, panel_type: panelType, limit, offset } }),
    executePanel: (panelId) => request('POST', `/api/v1/panels/${encodeURIComponent(panelId)}/execute`),
    cancelPanel: (panelId) => request('DELETE', `/api/v1/panels/${encodeURIComponent(panelId)}`),
    streamTicket: (panelId) => request('POST', `/api/v1/panels/${encodeURIComponent(panelId)}/stream-ticket`),
  };
}

/** "query must not be empty" -> "Query must not be empty." */
export function sentence(text) {
  const trimmed = String(text || '').trim();
  if (!trimmed) return '';
  const first = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

function clean(query) {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ''));
}
