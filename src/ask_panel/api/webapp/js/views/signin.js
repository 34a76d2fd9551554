// Sign-in that fits the service: a tenant id in local mode (auth off), a pasted bearer token otherwise.

import { createApi } from '../api.js';
import { h } from '../dom.js';
import { decodeClaims, isTenantId, secondsLeft, tenantsOf } from '../session.js';

/** `ctx`: {meta, session, onSignedIn, notice}. Returns {element, heading, dispose}. */
export function signInView(ctx) {
  const view = ctx.meta.auth_mode === 'none' ? new LocalSignIn(ctx) : new TokenSignIn(ctx);
  return { element: view.element, heading: view.heading, dispose: () => {} };
}

function page(heading, lede, form, notice) {
  return h(
    'div',
    { class: 'signin-page' },
    h('div', { class: 'card signin-card' }, heading, h('p', { class: 'lede' }, lede), notice ? h('p', { class: 'alert', role: 'alert' }, notice) : null, form),
  );
}

/** Checks the session against the service before keeping it (the token's signature, the tenant grant). */
async function check(tenantId, token) {
  const headers = { 'X-Tenant-ID': tenantId };
  if (token) headers.Authorization = `Bearer ${token}`;
  await createApi({ headersOf: () => headers }).listAgents();
}

class LocalSignIn {
  constructor(ctx) {
    this.ctx = ctx;
    this.heading = h('h1', { tabindex: '-1' }, 'Choose a workspace');
    this.tenant = h('input', { id: 'tenant', name: 'tenant', value: ctx.session.suggestedTenant, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'tenant-hint tenant-error', required: true });
    this.error = h('p', { class: 'field-error', id: 'tenant-error', hidden: true });
    this.submit = h('button', { type: 'submit', class: 'button primary' }, 'Continue');
    const form = h(
      'form',
      { novalidate: true, onsubmit: (event) => this.onSubmit(event) },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'tenant', class: 'field-label' }, 'Tenant id'),
        h('p', { class: 'hint', id: 'tenant-hint' }, 'A UUID. Panels and custom experts belong to a tenant; another tenant never sees them.'),
        this.tenant,
        this.error,
      ),
      h('div', { class: 'form-actions' }, this.submit),
    );
    this.element = page(
      this.heading,
      'This service runs in local development mode (authentication is off), so no token is needed: choose the tenant to work in.',
      form,
      ctx.notice,
    );
  }

  async onSubmit(event) {
    event.preventDefault();
    const tenantId = this.tenant.value.trim();
    if (!isTenantId(tenantId)) {
      showError(this.tenant, this.error, 'Enter a UUID, such as 11111111-1111-1111-1111-111111111111.');
      return;
    }
    this.submit.disabled = true;
    try {
      await check(tenantId, null);
      this.ctx.session.signIn({ tenantId });
      this.ctx.onSignedIn();
    } catch (error) {
      showError(this.tenant, this.error, error.explanation || error.message);
    } finally {
      this.submit.disabled = false;
    }
  }
}

class TokenSignIn {
  constructor(ctx) {
    this.ctx = ctx;
    this.tenants = [];
    this.heading = h('h1', { tabindex: '-1' }, 'Sign in');
    // While the person types, only a token that reads well is acted on; what is wrong is said when they leave
    // the field or sign in, not after the first character.
    this.token = h('textarea', {
      id: 'token',
      name: 'token',
      rows: '4',
      spellcheck: 'false',
      autocomplete: 'off',
      required: true,
      'aria-describedby': 'token-hint token-error',
      oninput: () => this.readToken({ quiet: true }),
      onchange: () => this.readToken({ focus: false }), // leaving the field: say what is wrong, never pull focus back
    });
    this.error = h('p', { class: 'field-error', id: 'token-error', hidden: true });
    this.tenantField = h('div', { class: 'field', hidden: true });
    this.submit = h('button', { type: 'submit', class: 'button primary' }, 'Sign in');
    const form = h(
      'form',
      { novalidate: true, onsubmit: (event) => this.onSubmit(event) },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'token', class: 'field-label' }, 'Bearer token'),
        h(
          'p',
          { class: 'hint', id: 'token-hint' },
          'A JSON Web Token from your identity provider. For a development server: ',
          h('code', {}, 'ask-panel token --tenant <uuid>'),
          '. It is kept in this browser tab only.',
        ),
        this.token,
        this.error,
      ),
      this.tenantField,
      h('div', { class: 'form-actions' }, this.submit),
    );
    this.element = page(this.heading, 'The service checks a bearer token on every call. The token names the tenants you may act for.', form, ctx.notice);
  }

  /**
   * Offer the token's tenants as soon as it is pasted (claims decoded here; the service verifies them).
   * `quiet`: a token that cannot be read yet (being typed) clears the offer without an error.
   */
  readToken({ quiet = false, focus = true } = {}) {
    const chosen = this.element?.querySelector('#tenant-choice')?.value; // kept when the same token is read again
    this.error.hidden = true;
    this.token.removeAttribute('aria-invalid');
    this.tenants = [];
    this.tenantField.hidden = true;
    const text = this.token.value.trim();
    if (!text) return;
    let claims;
    try {
      claims = decodeClaims(text);
    } catch (error) {
      if (!quiet) showError(this.token, this.error, error.message, focus);
      return;
    }
    this.tenants = tenantsOf(claims);
    const left = secondsLeft(claims);
    if (left !== null && left <= 0) {
      showError(this.token, this.error, 'This token has expired. Get a new one.', focus);
      return;
    }
    if (!this.tenants.length) {
      showError(this.token, this.error, 'This token grants no tenant (no tenant_id or tenant_ids claim).', focus);
      return;
    }
    this.tenantField.replaceChildren(
      ...(this.tenants.length === 1
        ? [h('p', { class: 'field-label' }, 'Tenant'), h('p', { class: 'tenant-id' }, this.tenants[0])]
        : [
            h('label', { for: 'tenant-choice', class: 'field-label' }, 'Tenant'),
            h('p', { class: 'hint' }, 'This token grants several tenants; choose one (you can switch later by signing in again).'),
            h('select', { id: 'tenant-choice' }, this.tenants.map((t) => h('option', { value: t, selected: t === chosen }, t))),
          ]),
    );
    this.tenantField.hidden = false;
  }

  async onSubmit(event) {
    event.preventDefault();
    const chosen = this.element.querySelector('#tenant-choice')?.value;
    this.readToken();
    if (!this.error.hidden) return;
    if (!this.tenants.length) {
      showError(this.token, this.error, 'Paste a bearer token.');
      return;
    }
    const tenantId = this.tenants.includes(chosen) ? chosen : this.tenants[0];
    const token = this.token.value.trim();
    this.submit.disabled = true;
    try {
      await check(tenantId, token);
      this.ctx.session.signIn({ tenantId, token });
      this.ctx.onSignedIn();
    } catch (error) {
      showError(this.token, this.error, `The service refused this token. ${error.explanation || error.message}`);
    } finally {
      this.submit.disabled = false;
    }
  }
}

function showError(input, element, message, focus = true) {
  input.setAttribute('aria-invalid', 'true');
  element.textContent = message;
  element.hidden = false;
  if (focus) input.focus();
}
