// Who is signed in: the tenant, and the bearer token when the service checks tokens.
//
// With auth_mode "none" (local development) only a tenant id is kept (localStorage). With "jwt" the pasted
// token is kept for this tab only (sessionStorage) and its tenants are read from its claims; the claims are
// decoded here to offer a choice, never trusted: the service verifies the token on every call.

export const DEFAULT_TENANT = '11111111-1111-1111-1111-111111111111';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KEY = 'ask-panel.session';

export function isTenantId(value) {
  return UUID.test(String(value || '').trim());
}

/** The claims of a JWT, decoded and not verified. Throws an Error with a readable message. */
export function decodeClaims(token) {
  const parts = String(token || '').trim().split('.');
  if (parts.length !== 3 || parts.some((part) => part === '')) {
    throw new Error('This is not a JSON Web Token (three dot-separated parts).');
  }
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new Error('not an object');
    return claims;
  } catch {
    throw new Error('The token’s claims could not be read.');
  }
}

/** Tenant ids granted by the claims `tenant_id` and `tenant_ids`, lower-cased, without repeats. */
export function tenantsOf(claims) {
  const found = [];
  if (typeof claims.tenant_id === 'string') found.push(claims.tenant_id);
  if (Array.isArray(claims.tenant_ids)) found.push(...claims.tenant_ids.filter((t) => typeof t === 'string'));
  return [...new Set(found.map((t) => t.toLowerCase()))];
}

/** Seconds until the claims' `exp` (negative when expired; null without exp). */
export function secondsLeft(claims, now = Date.now()) {
  return typeof claims.exp === 'number' ? Math.floor(claims.exp - now / 1000) : null;
}

export class Session {
  constructor(authMode) {
    this.authMode = authMode;
    this.tenantId = null;
    this.token = null;
    this.claims = null;
    this.restore();
  }

  get signedIn() {
    if (!this.tenantId) return false;
    return this.authMode === 'none' || Boolean(this.token);
  }

  /** The headers every API call carries. */
  headers() {
    const headers = {};
    if (this.tenantId) headers['X-Tenant-ID'] = this.tenantId;
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    return headers;
  }

  signIn({ tenantId, token = null }) {
    this.tenantId = tenantId.trim().toLowerCase();
    this.token = token ? token.trim() : null;
    this.claims = this.token ? decodeClaims(this.token) : null;
    const stored = JSON.stringify({ tenantId: this.tenantId, token: this.token });
    (this.token ? sessionStorage : localStorage).setItem(KEY, stored);
    localStorage.setItem(`${KEY}.lastTenant`, this.tenantId);
  }

  signOut() {
    this.tenantId = null;
    this.token = null;
    this.claims = null;
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
  }

  /** The tenant to offer on the sign-in page. */
  get suggestedTenant() {
    return localStorage.getItem(`${KEY}.lastTenant`) || DEFAULT_TENANT;
  }

  restore() {
    const raw = this.authMode === 'none' ? localStorage.getItem(KEY) : sessionStorage.getItem(KEY);
    if (!raw) return;
    try {
      const { tenantId, token } = JSON.parse(raw);
      if (!isTenantId(tenantId)) return;
      if (this.authMode !== 'none') {
        const claims = decodeClaims(token);
        const left = secondsLeft(claims);
        if (left !== null && left <= 0) return;
        this.claims = claims;
        this.token = token;
      }
      this.tenantId = tenantId;
    } catch {
      this.signOut();
    }
  }
}
