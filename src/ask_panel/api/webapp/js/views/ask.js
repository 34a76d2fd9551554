// The ask form: the question, the panel type, the experts (picked or automatic), the settings; starts the panel.

import { h, randomId } from '../dom.js';
import { PANEL_TYPES, usesThreshold } from '../labels.js';

const DEFAULT_ROUNDS = 3;
const DEFAULT_THRESHOLD_PERCENT = 80;

/**
 * `ctx`: {api, meta, navigate}; `query`: the route's URLSearchParams (`again=<panel id>` fills the form in with
 * that panel's question and settings). Returns {element, heading, dispose}.
 */
export function askView(ctx, query = new URLSearchParams()) {
  const form = new AskForm(ctx);
  if (query.get('again')) form.fillFrom(query.get('again'));
  return { element: form.element, heading: form.heading, dispose: () => {} };
}

class AskForm {
  constructor(ctx) {
    this.ctx = ctx;
    this.maxExperts = ctx.meta.max_experts || 10;
    this.lastAttempt = null;
    this.agents = [];
    this.heading = h('h1', { tabindex: '-1', id: 'ask-heading' }, 'Ask a panel');
    this.errors = h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true });

    this.query = h('textarea', {
      id: 'query',
      name: 'query',
      rows: '4',
      required: true,
      maxlength: String(ctx.meta.max_query_chars || 8000),
      'aria-describedby': 'query-hint query-count',
      placeholder: 'e.g. What is the fastest defensible US pathway for our wearable ECG patch, and what evidence will the FDA expect?',
    });
    this.queryCount = h('span', { id: 'query-count', class: 'hint count', 'aria-live': 'off' });
    this.query.addEventListener('input', () => this.countQuery());

    const types = (ctx.meta.panel_types || Object.keys(PANEL_TYPES)).filter((t) => PANEL_TYPES[t]);
    this.typeInputs = types.map((type, i) =>
      h('input', { type: 'radio', name: 'panel_type', id: `type-${type}`, value: type, checked: i === 0, onchange: () => this.typeChanged() }),
    );

    this.autoInput = h('input', { type: 'radio', name: 'experts', id: 'experts-auto', value: 'auto', checked: true, onchange: () => this.expertsModeChanged() });
    this.pickInput = h('input', { type: 'radio', name: 'experts', id: 'experts-pick', value: 'pick', onchange: () => this.expertsModeChanged() });
    this.filter = h('input', { type: 'search', id: 'expert-filter', placeholder: 'Filter by name, role or expertise', oninput: () => this.filterExperts() });
    this.expertList = h('div', { class: 'expert-list' }, h('p', { class: 'hint' }, 'Loading the expert registry…'));
    this.selectedCount = h('p', { class: 'hint', id: 'experts-count', 'aria-live': 'polite' });
    this.picker = h(
      'div',
      { class: 'expert-picker', hidden: true },
      h('label', { for: 'expert-filter', class: 'visually-hidden' }, 'Filter experts'),
      this.filter,
      this.selectedCount,
      this.expertList,
    );

    this.rounds = h('input', { type: 'number', id: 'max_rounds', min: '1', max: '10', step: '1', value: String(DEFAULT_ROUNDS), inputmode: 'numeric', 'aria-describedby': 'rounds-hint' });
    this.roundsHint = h('p', { class: 'hint', id: 'rounds-hint' }, '1 to 10');
    this.threshold = h('input', { type: 'number', id: 'threshold', min: '0', max: '100', step: '5', value: String(DEFAULT_THRESHOLD_PERCENT), inputmode: 'numeric', 'aria-describedby': 'threshold-hint' });
    this.thresholdField = h(
      'div',
      { class: 'field' },
      h('label', { for: 'threshold' }, 'Consensus threshold (%)'),
      h('p', { class: 'hint', id: 'threshold-hint' }, 'The panel stops early at this level of agreement'),
      this.threshold,
    );
    this.lengthNote = h('p', { class: 'hint settings-note', hidden: true });
    this.proposition = h('textarea', { id: 'proposition', rows: '2', maxlength: String(ctx.meta.max_proposition_chars || 2000), 'aria-describedby': 'proposition-hint' });
    this.propositionField = h(
      'div',
      { class: 'field', hidden: true },
      h('label', { for: 'proposition' }, 'Proposition to debate ', h('span', { class: 'optional' }, '(optional)')),
      h('p', { class: 'hint', id: 'proposition-hint' }, 'One statement the experts argue for or against. Left empty, the moderator states it from your question.'),
      this.proposition,
    );
    this.submit = h('button', { type: 'submit', class: 'button primary large' }, 'Convene the panel');

    this.element = h(
      'div',
      { class: 'ask-page' },
      h('header', { class: 'page-head' }, this.heading, h('p', { class: 'lede' }, 'Put a hard question to a panel of expert personas. They discuss it in rounds; you get a recommendation, how far the experts agree, and where they dissent.')),
      h(
        'form',
        {
          class: 'ask-form card',
          novalidate: true,
          onsubmit: (event) => this.onSubmit(event),
          oninput: () => this.recheck(),
          onchange: () => this.recheck(),
          'aria-labelledby': 'ask-heading',
        },
        this.errors,
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'query', class: 'field-label' }, 'Your question'),
          h('p', { class: 'hint', id: 'query-hint' }, 'Be specific: the product, the market and the decision in front of you.'),
          this.query,
          this.queryCount,
        ),
        h(
          'fieldset',
          { class: 'field' },
          h('legend', { class: 'field-label' }, 'Panel type'),
          h(
            'div',
            { class: 'choice-grid' },
            types.map((type, i) =>
              h(
                'div',
                { class: 'choice' },
                this.typeInputs[i],
                h('label', { for: `type-${type}` }, h('span', { class: 'choice-title' }, PANEL_TYPES[type].label), h('span', { class: 'choice-text' }, PANEL_TYPES[type].summary)),
              ),
            ),
          ),
        ),
        h(
          'fieldset',
          { class: 'field' },
          h('legend', { class: 'field-label' }, 'Experts'),
          h(
            'div',
            { class: 'choice-row' },
            h('div', { class: 'choice' }, this.autoInput, h('label', { for: 'experts-auto' }, h('span', { class: 'choice-title' }, 'Choose for me'), h('span', { class: 'choice-text' }, '3 to 5 experts matched to the question'))),
            h('div', { class: 'choice' }, this.pickInput, h('label', { for: 'experts-pick' }, h('span', { class: 'choice-title' }, 'I will pick'), h('span', { class: 'choice-text' }, `Up to ${this.maxExperts} from the registry`))),
          ),
          this.picker,
        ),
        h(
          'fieldset',
          { class: 'field settings' },
          h('legend', { class: 'field-label' }, 'Settings'),
          h(
            'div',
            { class: 'settings-grid' },
            h('div', { class: 'field' }, h('label', { for: 'max_rounds' }, 'Rounds'), this.roundsHint, this.rounds),
            this.thresholdField,
          ),
          this.lengthNote,
          this.propositionField,
        ),
        h('div', { class: 'form-actions' }, this.submit),
      ),
    );
    this.countQuery();
    this.loadAgents();
  }

  get panelType() {
    return this.typeInputs.find((input) => input.checked)?.value || 'structured';
  }

  countQuery() {
    const max = Number(this.query.maxLength);
    this.queryCount.textContent = `${this.query.value.length.toLocaleString()} / ${max.toLocaleString()} characters`;
  }

  /** Only the settings that act on the chosen type are offered: a debate and a Delphi panel ignore the threshold. */
  typeChanged() {
    const type = this.panelType;
    this.propositionField.hidden = type !== 'adversarial';
    this.thresholdField.hidden = !usesThreshold(type);
    this.roundsHint.textContent = type === 'adversarial' ? '2 to 10' : '1 to 10';
    const notes = {
      adversarial: 'A debate runs every round, whatever the agreement; then the judge decides.',
      delphi: 'A Delphi panel stops early once the estimates stop moving between rounds.',
    };
    this.lengthNote.textContent = notes[type] || '';
    this.lengthNote.hidden = !notes[type];
  }

  /** Fill the form in from an earlier panel (after it failed or was cancelled, or to ask again). */
  async fillFrom(panelId) {
    let panel;
    try {
      panel = await this.ctx.api.getPanel(panelId);
    } catch {
      return; // the form stays empty: nothing to copy
    }
    const config = panel.configuration || {};
    this.query.value = panel.query;
    this.countQuery();
    const type = this.typeInputs.find((input) => input.value === panel.panel_type);
    if (type) type.checked = true;
    if (typeof config.max_rounds === 'number') this.rounds.value = String(config.max_rounds);
    if (typeof config.consensus_threshold === 'number') this.threshold.value = String(Math.round(config.consensus_threshold * 100));
    this.proposition.value = config.proposition || '';
    this.typeChanged();
    if (panel.member_selection !== 'auto') {
      this.pickInput.checked = true;
      this.picker.hidden = false;
      this.pickAfterLoad = panel.members.map((m) => m.agent_id);
      this.checkPicked();
    }
  }

  checkPicked() {
    if (!this.pickAfterLoad) return;
    for (const input of this.expertList.querySelectorAll('input[name="agent_ids"]')) {
      if (this.pickAfterLoad.includes(input.value)) input.checked = true;
    }
    this.updateCount();
  }

  expertsModeChanged() {
    this.picker.hidden = !this.pickInput.checked;
    if (this.pickInput.checked) this.filter.focus();
  }

  async loadAgents() {
    try {
      const { agents } = await this.ctx.api.listAgents();
      this.agents = agents;
      this.renderAgents();
    } catch (error) {
      this.expertList.replaceChildren(h('p', { class: 'alert' }, `The list of experts could not be loaded. ${error.explanation || error.message} You can still let the service choose.`));
    }
  }

  renderAgents() {
    const own = this.agents.filter((a) => !a.builtin);
    const builtin = this.agents.filter((a) => a.builtin);
    const group = (title, agents) =>
      agents.length
        ? h('div', { class: 'expert-group', role: 'group', 'aria-label': title }, h('h3', { class: 'group-title' }, title), h('ul', {}, agents.map((a) => this.agentItem(a))))
        : null;
    this.expertList.replaceChildren(...[group('Your organisation’s experts', own), group('Built-in experts', builtin)].filter(Boolean));
    this.updateCount();
    this.checkPicked();
  }

  agentItem(agent) {
    const id = `agent-${agent.agent_id}`;
    const input = h('input', { type: 'checkbox', id, name: 'agent_ids', value: agent.agent_id, onchange: () => this.updateCount() });
    const text = [agent.name, agent.role, ...(agent.expertise || [])].join(' ').toLowerCase();
    return h(
      'li',
      { class: 'expert-option', dataset: { search: text } },
      input,
      h(
        'label',
        { for: id },
        h('span', { class: 'expert-name' }, agent.name),
        h('span', { class: 'expert-role' }, agent.role),
        h('span', { class: 'tags' }, (agent.expertise || []).slice(0, 6).map((term) => h('span', { class: 'tag' }, term))),
      ),
    );
  }

  selectedAgents() {
    return [...this.expertList.querySelectorAll('input[name="agent_ids"]:checked')].map((input) => input.value);
  }

  updateCount() {
    const count = this.selectedAgents().length;
    this.selectedCount.textContent = `${count} selected (at most ${this.maxExperts})`;
    this.selectedCount.classList.toggle('over', count > this.maxExperts);
  }

  filterExperts() {
    const words = this.filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const item of this.expertList.querySelectorAll('.expert-option')) {
      item.hidden = !words.every((word) => item.dataset.search.includes(word));
    }
  }

  /** Problems with the form as [fieldId, message]. */
  validate() {
    const problems = [];
    if (!this.query.value.trim()) problems.push(['query', 'Write the question for the panel.']);
    if (this.pickInput.checked) {
      const count = this.selectedAgents().length;
      const least = this.panelType === 'adversarial' ? 2 : 1;
      if (count < least) problems.push(['expert-filter', `Pick at least ${least} expert${least > 1 ? 's' : ''}, or let the service choose.`]);
      if (count > this.maxExperts) problems.push(['expert-filter', `Pick at most ${this.maxExperts} experts.`]);
    }
    const rounds = Number(this.rounds.value);
    const fewest = this.panelType === 'adversarial' ? 2 : 1;
    if (!Number.isInteger(rounds) || rounds < fewest || rounds > 10) {
      problems.push(['max_rounds', fewest === 2 ? 'A debate has from 2 to 10 rounds.' : 'Rounds must be a whole number from 1 to 10.']);
    }
    const threshold = Number(this.threshold.value);
    if (usesThreshold(this.panelType) && (this.threshold.value === '' || !Number.isFinite(threshold) || threshold < 0 || threshold > 100)) {
      problems.push(['threshold', 'The consensus threshold must be from 0 to 100%.']);
    }
    return problems;
  }

  /**
   * While the form's own problems are listed, the list follows the person's corrections (a problem fixed
   * leaves it; the summary goes once none is left). It is redrawn only when the list changes, so a screen
   * reader does not hear it again at every keystroke; the focus stays where the person types.
   */
  recheck() {
    if (!this.listed) return;
    const problems = this.validate();
    const key = JSON.stringify(problems);
    if (key === this.listed) return;
    this.showErrors(problems, undefined, { focus: false });
  }

  showErrors(problems, title = 'The panel could not be started', { focus = true, ownProblems = true } = {}) {
    for (const input of this.element.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
    this.listed = ownProblems && problems.length ? JSON.stringify(problems) : null;
    if (!problems.length) {
      this.errors.hidden = true;
      return;
    }
    for (const [fieldId] of problems) document.getElementById(fieldId)?.setAttribute('aria-invalid', 'true');
    this.errors.replaceChildren(
      h('h2', {}, title),
      h(
        'ul',
        {},
        problems.map(([fieldId, message]) =>
          h('li', {}, fieldId ? h('a', { href: `#${fieldId}`, onclick: (event) => focusField(event, fieldId) }, message) : message),
        ),
      ),
    );
    this.errors.hidden = false;
    if (focus) this.errors.focus();
  }

  body() {
    const configuration = { max_rounds: Number(this.rounds.value) };
    if (usesThreshold(this.panelType)) configuration.consensus_threshold = Number(this.threshold.value) / 100;
    if (this.panelType === 'adversarial' && this.proposition.value.trim()) configuration.proposition = this.proposition.value.trim();
    const body = { query: this.query.value.trim(), panel_type: this.panelType, configuration };
    if (this.pickInput.checked) body.agent_ids = this.selectedAgents();
    return body;
  }

  /** The same key for a retry of the same request after a network failure; a new one otherwise. */
  idempotencyKey(body) {
    const text = JSON.stringify(body);
    if (this.lastAttempt && this.lastAttempt.text === text && this.lastAttempt.unreached) return this.lastAttempt.key;
    this.lastAttempt = { text, key: randomId(), unreached: false };
    return this.lastAttempt.key;
  }

  async onSubmit(event) {
    event.preventDefault();
    const problems = this.validate();
    this.showErrors(problems);
    if (problems.length) return;
    const body = this.body();
    this.submit.disabled = true;
    this.submit.textContent = 'Convening…';
    let panel;
    try {
      panel = await this.ctx.api.createPanel(body, this.idempotencyKey(body));
    } catch (error) {
      this.lastAttempt.unreached = error.status === 0;
      this.showErrors([[null, error.explanation || error.message]], undefined, { ownProblems: false });
      this.submit.disabled = false;
      this.submit.textContent = 'Convene the panel';
      return;
    }
    try {
      await this.ctx.api.executePanel(panel.panel_id);
    } catch {
      // The panel exists as a draft: its page offers to start it and says why it did not.
    }
    this.ctx.navigate(`#/panels/${panel.panel_id}`);
  }
}

function focusField(event, fieldId) {
  event.preventDefault();
  document.getElementById(fieldId)?.focus();
}
