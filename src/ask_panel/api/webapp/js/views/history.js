// The tenant's panels, newest first, filtered by status and type; each opens its panel page.

import { dateTime, h, percent } from '../dom.js';
import { PANEL_TYPES, STATUSES, panelTypeLabel, statusLabel } from '../labels.js';

const PAGE_SIZE = 20;

/** `ctx`: {api, navigate}; `query`: URLSearchParams of the route (status, type). */
export function historyView(ctx, query) {
  const view = new HistoryView(ctx, query);
  return { element: view.element, heading: view.heading, dispose: () => view.dispose() };
}

class HistoryView {
  constructor(ctx, query) {
    this.ctx = ctx;
    this.disposed = false;
    this.offset = 0;
    this.heading = h('h1', { tabindex: '-1' }, 'Your panels');
    this.status = select('filter-status', 'Status', STATUSES, query.get('status'));
    this.type = select(
      'filter-type',
      'Panel type',
      Object.fromEntries(Object.entries(PANEL_TYPES).map(([key, value]) => [key, value.label])),
      query.get('type'),
    );
    this.summary = h('p', { class: 'hint', role: 'status' });
    this.problem = h('div', { class: 'alert', role: 'alert', hidden: true });
    this.body = h('tbody');
    this.more = h('button', { type: 'button', class: 'button', hidden: true, onclick: () => this.load(false) }, 'Show more');
    this.element = h(
      'div',
      { class: 'history-page' },
      h('header', { class: 'page-head with-action' }, h('div', {}, this.heading), h('a', { class: 'button primary', href: '#/ask' }, 'New panel')),
      h(
        'form',
        { class: 'filters', onsubmit: (event) => event.preventDefault(), 'aria-label': 'Filter panels' },
        this.status.field,
        this.type.field,
      ),
      this.summary,
      this.problem,
      (this.tableCard = h(
        'div',
        { class: 'card table-card' },
        h(
          'table',
          { class: 'panel-table' },
          h('caption', { class: 'visually-hidden' }, 'Panels, newest first'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Question', 'Type', 'Status', 'Experts', 'Consensus', 'Created'].map((title) => h('th', { scope: 'col' }, title)),
            ),
          ),
          this.body,
        ),
      )),
      h('div', { class: 'table-actions' }, this.more),
    );
    for (const control of [this.status.input, this.type.input]) control.addEventListener('change', () => this.filtersChanged());
    this.load(true);
  }

  dispose() {
    this.disposed = true;
  }

  clearFilters(event) {
    event.preventDefault();
    this.status.input.value = '';
    this.type.input.value = '';
    this.filtersChanged();
    this.heading.focus();
  }

  filtersChanged() {
    const params = new URLSearchParams();
    if (this.status.input.value) params.set('status', this.status.input.value);
    if (this.type.input.value) params.set('type', this.type.input.value);
    const query = params.toString();
    history.replaceState(null, '', `#/history${query ? `?${query}` : ''}`);
    this.load(true);
  }

  async load(fresh) {
    if (fresh) this.offset = 0;
    this.summary.textContent = 'Loading…';
    let page;
    try {
      page = await this.ctx.api.listPanels({
        status: this.status.input.value || undefined,
        panelType: this.type.input.value || undefined,
        limit: PAGE_SIZE,
        offset: this.offset,
      });
    } catch (error) {
      if (this.disposed) return;
      this.summary.textContent = '';
      this.problem.replaceChildren(
        h('p', {}, h('strong', {}, 'Your panels could not be loaded. '), error.explanation || error.message),
        h('button', { type: 'button', class: 'button small', onclick: () => this.load(fresh) }, 'Try again'),
      );
      this.problem.hidden = false;
      this.tableCard.hidden = fresh; // an empty table under the error says nothing
      return;
    }
    if (this.disposed) return;
    this.problem.hidden = true;
    this.tableCard.hidden = false;
    const rows = page.panels.map((panel) => row(panel));
    if (fresh) this.body.replaceChildren(...rows);
    else this.body.append(...rows);
    this.offset += page.panels.length;
    this.more.hidden = this.offset >= page.total;
    if (page.total === 0) {
      const filtered = Boolean(this.status.input.value || this.type.input.value);
      this.body.replaceChildren(
        h(
          'tr',
          {},
          h(
            'td',
            { colspan: '6', class: 'empty-note' },
            filtered
              ? ['None of your panels match these filters. ', h('a', { href: '#/history', onclick: (event) => this.clearFilters(event) }, 'Show all panels.')]
              : ['No panels yet. ', h('a', { href: '#/ask' }, 'Ask your first question.')],
          ),
        ),
      );
      this.summary.textContent = filtered ? 'No panels match.' : 'No panels yet.';
    } else {
      this.summary.textContent = `Showing ${this.offset} of ${page.total} panel${page.total === 1 ? '' : 's'}.`;
    }
  }
}

function select(id, label, options, value) {
  const input = h(
    'select',
    { id, name: id },
    h('option', { value: '' }, 'All'),
    Object.entries(options).map(([key, text]) => h('option', { value: key, selected: key === value }, text)),
  );
  return { input, field: h('div', { class: 'field inline' }, h('label', { for: id }, label), input) };
}

function row(panel) {
  const consensus = panel.consensus ? percent(panel.consensus.level) : '–';
  return h(
    'tr',
    { dataset: { panelId: panel.panel_id, status: panel.status } },
    h('td', { class: 'cell-query', 'data-label': 'Question' }, h('a', { href: `#/panels/${panel.panel_id}` }, panel.query)),
    h('td', { 'data-label': 'Type' }, panelTypeLabel(panel.panel_type)),
    h('td', { 'data-label': 'Status' }, h('span', { class: 'status-pill', dataset: { status: panel.status } }, statusLabel(panel.status))),
    h('td', { 'data-label': 'Experts' }, String(panel.members.length)),
    h('td', { 'data-label': 'Consensus' }, consensus),
    h('td', { 'data-label': 'Created' }, h('time', { datetime: panel.created_at }, dateTime(panel.created_at))),
  );
}
