// The web app's entry point: reads the service's meta, restores the session and routes between the views.
//
// Routes (in the URL's hash): #/ask, #/history?status=&type=, #/panels/<id>, #/signin.
// `?transport=eventsource` in the page's URL streams with EventSource and tickets instead of fetch().

import { createApi } from './api.js';
import { h } from './dom.js';
import { Session } from './session.js';
import { eventSourceTransport, fetchTransport } from './stream.js';
import { askView } from './views/ask.js';
import { historyView } from './views/history.js';
import { panelView } from './views/panel.js';
import { signInView } from './views/signin.js';

const PANEL_ROUTE = /^\/panels\/([0-9a-fA-F-]{36})$/;

class App {
  constructor(meta) {
    this.meta = meta;
    this.session = new Session(meta.auth_mode);
    this.main = document.getElementById('main');
    this.account = document.getElementById('account');
    this.announcer = document.getElementById('announcer');
    this.view = null;
    this.notice = null;
    this.firstRender = true;
    this.api = createApi({ headersOf: () => this.session.headers(), onUnauthorized: (error) => this.unauthorized(error) });
    const useEventSource = new URLSearchParams(location.search).get('transport') === 'eventsource';
    this.transport = useEventSource
      ? eventSourceTransport((panelId) => this.api.streamTicket(panelId))
      : fetchTransport(() => this.session.headers());
    document.documentElement.dataset.transport = this.transport.name;
    document.body.dataset.authMode = meta.auth_mode;
  }

  start() {
    window.addEventListener('hashchange', () => this.route());
    document.querySelector('.skip-link').addEventListener('click', (event) => {
      event.preventDefault();
      this.main.focus();
    });
    this.route();
  }

  navigate(hash) {
    if (location.hash === hash) this.route();
    else location.hash = hash;
  }

  announce(message) {
    // Cleared first so that the same message twice is announced twice.
    this.announcer.textContent = '';
    setTimeout(() => {
      this.announcer.textContent = message;
    }, 50);
  }

  unauthorized(error) {
    if (!this.session.signedIn) return;
    this.session.signOut();
    this.notice = `You were signed out. ${error.explanation || error.message} Sign in again to continue.`;
    this.afterSignIn = location.hash;
    this.route();
  }

  route() {
    const hash = location.hash && location.hash.startsWith('#/') ? location.hash : '#/ask';
    const [path, queryString = ''] = hash.slice(1).split('?');
    const query = new URLSearchParams(queryString);
    this.view?.dispose();
    this.renderAccount();
    let view;
    let section = null;
    if (!this.session.signedIn || path === '/signin') {
      if (path !== '/signin') this.afterSignIn = hash;
      view = signInView({ meta: this.meta, session: this.session, notice: this.notice, onSignedIn: () => this.signedIn() });
      document.title = 'Sign in – Ask Panel';
    } else if (path === '/ask' || path === '/') {
      view = askView({ api: this.api, meta: this.meta, navigate: (to) => this.navigate(to) }, query);
      section = 'ask';
      document.title = 'Ask a panel – Ask Panel';
    } else if (path === '/history') {
      view = historyView({ api: this.api }, query);
      section = 'history';
      document.title = 'Your panels – Ask Panel';
    } else if (PANEL_ROUTE.test(path)) {
      const panelId = PANEL_ROUTE.exec(path)[1].toLowerCase();
      view = panelView(
        {
          api: this.api,
          transport: this.transport,
          announce: (message) => this.announce(message),
          onUnauthorized: (error) => this.unauthorized(error),
        },
        panelId,
      );
      section = 'history';
    } else {
      const heading = h('h1', { tabindex: '-1' }, 'Page not found');
      view = { element: h('div', {}, heading, h('p', {}, h('a', { href: '#/ask' }, 'Ask a panel'))), heading, dispose: () => {} };
    }
    this.view = view;
    for (const link of document.querySelectorAll('[data-section]')) {
      if (link.dataset.section === section) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    this.main.replaceChildren(view.element);
    if (!this.firstRender) view.heading?.focus();
    this.firstRender = false;
  }

  signedIn() {
    this.notice = null;
    const target = this.afterSignIn && !this.afterSignIn.startsWith('#/signin') ? this.afterSignIn : '#/ask';
    this.afterSignIn = null;
    this.navigate(target);
  }

  renderAccount() {
    if (!this.session.signedIn) {
      this.account.replaceChildren();
      document.body.dataset.signedIn = 'false';
      return;
    }
    document.body.dataset.signedIn = 'true';
    const tenant = this.session.tenantId;
    const mode = this.meta.auth_mode === 'none' ? 'Local mode' : this.session.claims?.sub || 'Signed in';
    this.account.replaceChildren(
      h(
        'span',
        { class: 'account-text' },
        h('span', { class: 'account-mode' }, mode),
        h('span', { class: 'account-tenant', title: tenant }, `Tenant ${tenant.slice(0, 8)}…`),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'button small quiet',
          onclick: () => {
            this.session.signOut();
            this.navigate('#/signin');
          },
        },
        this.meta.auth_mode === 'none' ? 'Switch tenant' : 'Sign out',
      ),
    );
  }
}

async function boot() {
  const main = document.getElementById('main');
  let meta;
  try {
    meta = await createApi({ headersOf: () => ({}) }).meta();
  } catch (error) {
    const heading = h('h1', { tabindex: '-1' }, 'The service could not be reached');
    main.replaceChildren(
      h(
        'div',
        { class: 'card' },
        heading,
        h('p', {}, error.status === 0 ? 'Ask Panel’s service did not answer. Check that it is running and that you are online, then try again.' : error.explanation || error.message),
        h('button', { type: 'button', class: 'button primary', onclick: () => boot() }, 'Try again'),
      ),
    );
    return;
  }
  new App(meta).start();
}

boot();
