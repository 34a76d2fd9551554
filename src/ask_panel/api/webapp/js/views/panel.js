// One panel, live or finished: progress, transcript, consensus chart, outcome; cancel, start and replay.

import { ConsensusChart } from '../components/consensus-chart.js';
import { recommendationCard } from '../components/recommendation.js';
import { Transcript } from '../components/transcript.js';
import { dateTime, duration, h, hueOf, initials } from '../dom.js';
import { panelTypeLabel, statusLabel, TERMINAL_STATUSES, usesThreshold } from '../labels.js';
import { PanelStream } from '../stream.js';

const CONNECTION_TEXT = {
  idle: '',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Connection lost – reconnecting…',
  offline: 'Offline – waiting for the network…',
  ended: 'Stream ended',
  failed: 'Stream stopped',
};
const REPLAY_STEP_MS = 450;

/** The panel page. `ctx`: {api, transport, announce, onUnauthorized}. Returns {element, heading, dispose}. */
export function panelView(ctx, panelId) {
  const heading = h('h1', { tabindex: '-1', class: 'panel-query' }, 'Loading panel…');
  const element = h('div', { class: 'panel-page' }, heading);
  const page = new PanelPage(ctx, panelId, element, heading);
  page.load();
  return { element, heading, dispose: () => page.dispose() };
}

class PanelPage {
  constructor(ctx, panelId, element, heading) {
    this.ctx = ctx;
    this.panelId = panelId;
    this.element = element;
    this.heading = heading;
    this.events = [];
    this.stream = null;
    this.replayTimer = null;
    this.disposed = false;
    this.currentRound = 0;
    this.speakingText = '';
    this.replaying = false;
    this.replayQueue = [];
  }

  dispose() {
    this.disposed = true;
    this.stream?.stop();
    clearTimeout(this.replayTimer);
    clearTimeout(this.refreshTimer);
    this.stopRefreshOnOnline();
  }

  async load() {
    let panel;
    try {
      panel = await this.ctx.api.getPanel(this.panelId);
    } catch (error) {
      if (this.disposed) return;
      this.heading.textContent = error.status === 404 ? 'Panel not found' : 'The panel could not be loaded';
      const retry = h('button', { type: 'button', class: 'button', onclick: () => {
        this.element.replaceChildren(this.heading);
        this.heading.textContent = 'Loading panel…';
        this.load();
      } }, 'Try again');
      this.element.append(
        h(
          'p',
          { class: 'alert', role: 'alert' },
          error.status === 404 ? 'This tenant has no panel at this address: it may belong to another tenant, or the link is incomplete.' : error.explanation,
        ),
        h('p', { class: 'form-actions' }, error.status === 404 ? null : retry, h('a', { href: '#/history' }, 'Back to your panels')),
      );
      return;
    }
    if (this.disposed) return;
    this.panel = panel;
    this.status = panel.status;
    this.build(panel);
    this.watch();
  }

  build(panel) {
    const config = panel.configuration || {};
    document.title = `${panel.query.slice(0, 60)} – Ask Panel`;
    this.heading.textContent = panel.query;
    this.statusPill = h('span', { class: 'status-pill' });
    this.connection = h('span', { class: 'connection', role: 'status' });
    this.roundText = h('span', { class: 'round-text' });
    this.speakingLine = h('span', { class: 'speaking' });
    this.progressBar = h('div', { class: 'progress-bar', role: 'progressbar', 'aria-label': 'Rounds', 'aria-valuemin': '0' }, h('span'));
    this.alert = h('div', { class: 'alert', role: 'alert', hidden: true });
    this.notice = h('div', { class: 'notice', role: 'status', hidden: true });
    this.cancelButton = h('button', { type: 'button', class: 'button danger', onclick: () => this.cancel() }, 'Cancel panel');
    this.startButton = h('button', { type: 'button', class: 'button primary', onclick: () => this.start() }, 'Start panel');
    this.replayButton = h('button', { type: 'button', class: 'button', onclick: () => this.replay() }, 'Replay discussion');
    this.skipButton = h('button', { type: 'button', class: 'button', hidden: true, onclick: () => this.finishReplay() }, 'Show all');

    this.transcript = new Transcript();
    this.transcript.setMembers(panel.members);
    this.transcript.unit = config.estimate?.unit || null;
    const threshold = usesThreshold(panel.panel_type) ? (config.consensus_threshold ?? null) : null;
    this.chart = new ConsensusChart({ maxRounds: config.max_rounds || 3, threshold });
    this.outcome = h('section', { class: 'card outcome', 'aria-labelledby': 'outcome-heading', hidden: true });
    this.membersList = h(
      'ul',
      { class: 'member-list' },
      panel.members.map((m) => {
        const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(m.agent_name));
        avatar.style.setProperty('--hue', String(hueOf(m.agent_id)));
        return h(
          'li',
          { dataset: { agent: m.agent_id } },
          avatar,
          h('span', { class: 'speaker' }, h('span', { class: 'speaker-name' }, m.agent_name), h('span', { class: 'speaker-role' }, m.agent_role)),
        );
      }),
    );
    this.details = h('dl', { class: 'details' });
    this.renderDetails(panel);

    const eyebrow = h(
      'p',
      { class: 'eyebrow' },
      `${panelTypeLabel(panel.panel_type)} panel · ${panel.members.length} experts`,
      panel.member_selection === 'auto' ? ' (chosen automatically)' : '',
      ` · created ${dateTime(panel.created_at)}`,
    );
    const hadFocus = document.activeElement === this.heading;
    this.element.replaceChildren(
      h(
        'header',
        { class: 'panel-head' },
        eyebrow,
        this.heading,
        h('div', { class: 'panel-actions' }, this.startButton, this.cancelButton, this.replayButton, this.skipButton),
      ),
      h(
        'section',
        { class: 'progress-strip', 'aria-label': 'Progress' },
        this.statusPill,
        this.roundText,
        this.speakingLine,
        this.connection,
        this.progressBar,
      ),
      this.alert,
      this.notice,
      h(
        'div',
        { class: 'panel-grid' },
        h(
          'div',
          { class: 'panel-main' },
          this.outcome,
          h(
            'section',
            { class: 'card discussion', 'aria-labelledby': 'discussion-heading' },
            h('h2', { id: 'discussion-heading' }, 'Discussion'),
            this.transcript.element,
          ),
        ),
        h(
          'div',
          { class: 'panel-side' },
          h('section', { class: 'card chart-card', 'aria-labelledby': 'chart-heading' }, h('h2', { id: 'chart-heading' }, 'Consensus'), this.chart.element),
          h('section', { class: 'card members-card', 'aria-labelledby': 'members-heading' }, h('h2', { id: 'members-heading' }, 'Panel'), this.membersList),
          h('section', { class: 'card details-card', 'aria-labelledby': 'details-heading' }, h('h2', { id: 'details-heading' }, 'Details'), this.details),
        ),
      ),
    );
    if (hadFocus) this.heading.focus(); // moved into the page's header: keep the focus a route change gave it
    this.renderProgress();
  }

  /**
   * The panel's settings, and once it has ended what it used. While it runs the stored usage is not kept up
   * to date, so it is not shown (it read "0 calls, 0 tokens" for a panel in full swing).
   */
  renderDetails(panel) {
    const config = panel.configuration || {};
    const usage = panel.usage || {};
    const ended = TERMINAL_STATUSES.has(panel.status);
    const adversarial = panel.panel_type === 'adversarial';
    const rows = [
      ['Panel type', panelTypeLabel(panel.panel_type)],
      adversarial
        ? ['Rounds', String(Math.max(2, config.max_rounds ?? 2))]
        : ['Rounds (at most)', String(config.max_rounds ?? '–')],
      usesThreshold(panel.panel_type) && typeof config.consensus_threshold === 'number'
        ? ['Stops early at', `${Math.round(config.consensus_threshold * 100)}% consensus`]
        : null,
      config.proposition ? ['Proposition', config.proposition] : null,
      ended ? ['Model calls', String(usage.llm_calls ?? 0)] : null,
      ended ? ['Tokens', `${(usage.input_tokens ?? 0).toLocaleString()} in · ${(usage.output_tokens ?? 0).toLocaleString()} out`] : null,
      ended && typeof panel.duration_seconds === 'number' ? ['Duration', duration(panel.duration_seconds)] : null,
      ended ? null : ['Usage', 'Counted when the panel ends'],
    ].filter(Boolean);
    this.details.replaceChildren(...rows.map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, value))));
  }

  renderProgress() {
    const terminal = TERMINAL_STATUSES.has(this.status);
    this.statusPill.textContent = statusLabel(this.status);
    this.statusPill.dataset.status = this.status;
    this.element.dataset.status = this.status;
    const maxRounds = this.panel.configuration?.max_rounds || 1;
    if (this.currentRound === 0) {
      this.roundText.textContent =
        this.status === 'draft' ? 'Not started' : this.status === 'queued' ? 'Waiting to start' : terminal ? `${statusLabel(this.status)} before the first round` : '';
    } else if (this.status === 'completed') {
      this.roundText.textContent = `Finished after round ${this.currentRound} of ${maxRounds}`;
    } else if (terminal) {
      this.roundText.textContent = `${statusLabel(this.status)} in round ${this.currentRound} of ${maxRounds}`;
    } else {
      this.roundText.textContent = `Round ${this.currentRound} of ${maxRounds}`;
    }
    const done = this.status === 'completed' ? maxRounds : Math.max(0, this.currentRound - 1);
    this.progressBar.setAttribute('aria-valuemax', String(maxRounds));
    this.progressBar.setAttribute('aria-valuenow', String(done));
    this.progressBar.firstChild.style.width = `${(100 * done) / maxRounds}%`;
    this.progressBar.hidden = this.status === 'draft';
    this.startButton.hidden = this.status !== 'draft';
    this.cancelButton.hidden = terminal || this.replaying;
    // Nothing to replay when no turn was stored (a panel that failed or was cancelled before anyone spoke).
    this.replayButton.hidden = !terminal || this.replaying || !this.events.some((e) => e.type === 'expert_speaking');
    // Once the panel has ended the connection is of no interest: the page holds all there is.
    this.connection.hidden = terminal && !this.replaying;
    this.skipButton.hidden = !this.replaying;
    this.renderSpeaking();
  }

  renderSpeaking() {
    const names = TERMINAL_STATUSES.has(this.status) ? [] : this.transcript.speaking();
    const text = names.length ? `Speaking: ${names.join(', ')}` : '';
    if (text === this.speakingText) return;
    this.speakingText = text;
    this.speakingLine.textContent = text;
    for (const item of this.membersList.children) {
      const member = this.panel.members.find((m) => m.agent_id === item.dataset.agent);
      item.classList.toggle('is-speaking', Boolean(member && names.includes(member.agent_name)));
    }
  }

  showAlert(text, ...more) {
    this.alert.hidden = !text;
    this.alert.replaceChildren(...(text ? [text, ...more] : []));
  }

  /** A neutral message (not an error): the panel was cancelled. */
  showNotice(text, ...more) {
    this.notice.hidden = !text;
    this.notice.replaceChildren(...(text ? [text, ...more] : []));
  }

  /** A link to the ask form filled in with this panel's question and settings. */
  askAgainLink() {
    return h('a', { href: `#/ask?again=${this.panelId}`, class: 'ask-again' }, 'Ask the same question again');
  }

  watch() {
    this.stream = new PanelStream({
      panelId: this.panelId,
      transport: this.ctx.transport,
      tokens: true,
      onEvent: (event) => this.onEvent(event),
      onStatus: (status, detail) => this.onConnection(status, detail),
      isFinished: async (lastEventId) => {
        const panel = await this.ctx.api.getPanel(this.panelId);
        return TERMINAL_STATUSES.has(panel.status) && panel.last_event_id <= lastEventId;
      },
    });
    this.stream.start();
  }

  onConnection(status, detail) {
    if (this.disposed) return;
    const wasLive = this.connectionStatus === 'live';
    this.connectionStatus = status;
    this.connection.textContent = CONNECTION_TEXT[status] || status;
    this.connection.dataset.state = status;
    this.element.dataset.connection = status;
    this.element.dataset.reconnects = String(detail.stats.reconnects);
    if ((status === 'reconnecting' || status === 'offline') && wasLive) {
      this.transcript.resumed();
      this.ctx.announce('Connection lost. Reconnecting.');
    } else if (status === 'live' && detail.stats.reconnects > 0) {
      this.ctx.announce('Reconnected.');
    }
    if (status === 'ended') this.refresh();
    if (status === 'failed') {
      const error = detail.error;
      if (error?.status === 401) {
        this.ctx.onUnauthorized(error);
        return;
      }
      this.showAlert(`This page stopped receiving the panel’s updates. ${error?.explanation || error?.message || ''} Reload the page to try again.`);
    }
  }

  /**
   * Re-read the stored panel (its status and usage) after it ended. A failure (the network dropped as the
   * stream ended) is retried with a backoff (1 s doubling to 30 s) and at once when the browser is back online,
   * until it succeeds, the service refuses (a 4xx), or the page is left.
   */
  async refresh() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    try {
      const panel = await this.ctx.api.getPanel(this.panelId);
      if (this.disposed) return;
      this.refreshDelay = undefined;
      this.stopRefreshOnOnline();
      this.panel = panel;
      this.status = panel.status;
      this.renderDetails(panel);
      this.renderProgress();
    } catch (error) {
      if (this.disposed || (error?.status >= 400 && error?.status < 500 && error?.status !== 408 && error?.status !== 429)) {
        this.stopRefreshOnOnline();
        return; // refused: the page stays as it is; the next action reports the problem
      }
      this.refreshDelay = Math.min((this.refreshDelay ?? 500) * 2, 30000);
      this.refreshTimer = setTimeout(() => this.refresh(), this.refreshDelay);
      if (!this.onOnline) {
        this.onOnline = () => this.refresh();
        window.addEventListener('online', this.onOnline);
      }
    }
  }

  stopRefreshOnOnline() {
    if (this.onOnline) window.removeEventListener('online', this.onOnline);
    this.onOnline = undefined;
  }

  onEvent(event) {
    if (this.disposed) return;
    if (event.id !== null) this.events.push(event);
    if (this.replaying) return; // shown when the replay reaches it
    this.apply(event, { live: true });
  }

  apply({ id, type, data }, { live }) {
    switch (type) {
      case 'expert_token':
        this.transcript.token(data);
        this.renderSpeaking();
        return;
      case 'panel_started':
        this.transcript.setMembers(data.members);
        this.setStatus('in_progress');
        return;
      case 'round_started':
        this.currentRound = Math.max(this.currentRound, data.round);
        this.transcript.roundStarted(data);
        if (live) this.ctx.announce(`Round ${data.round} started.`);
        this.renderProgress();
        return;
      case 'expert_speaking':
        this.currentRound = Math.max(this.currentRound, data.round || 0);
        this.transcript.message(id, data);
        this.renderProgress();
        return;
      case 'expert_error':
        this.transcript.expertError(id, data);
        return;
      case 'round_complete':
        this.transcript.roundComplete(data);
        return;
      case 'consensus_update':
        this.transcript.consensus(data);
        this.chart.update(data);
        return;
      case 'panel_complete':
        this.showOutcome(data);
        this.end('completed', live ? 'The panel is complete. The recommendation is shown above the discussion.' : null);
        return;
      case 'panel_cancelled':
        this.end('cancelled', live ? 'The panel was cancelled.' : null);
        this.showNotice(
          this.currentRound
            ? `This panel was cancelled in round ${this.currentRound}, so it has no recommendation. ${
                this.transcript.stored ? 'The turns finished before that are kept below.' : 'No expert had finished a turn.'
              } `
            : 'This panel was cancelled before it started, so it has no recommendation. ',
          this.askAgainLink(),
        );
        return;
      case 'error':
        if (data.terminal) {
          this.end('failed', live ? 'The panel failed.' : null);
          this.showAlert(
            h('strong', {}, 'The panel stopped with an error and has no recommendation. '),
            data.message ? `Reason: ${String(data.message).replace(/\.$/, '')}. ` : '',
            this.askAgainLink(),
          );
        } else {
          this.transcript.expertError(id, data);
        }
        return;
      default:
        return; // an event this page does not show
    }
  }

  setStatus(status) {
    if (TERMINAL_STATUSES.has(this.status)) return;
    this.status = status;
    this.renderProgress();
  }

  end(status, message) {
    this.status = status;
    this.transcript.end();
    this.chart.ended();
    this.renderProgress();
    if (message) this.ctx.announce(message);
  }

  showOutcome(data) {
    const nameOf = (id) => this.panel.members.find((m) => m.agent_id === id)?.agent_name || id;
    this.outcome.replaceChildren(h('h2', { id: 'outcome-heading' }, 'Recommendation'), recommendationCard(data, nameOf, this.transcript.silent));
    this.outcome.hidden = false;
    const verdict = data.recommendation?.verdict;
    if (verdict) {
      // Each debater's side, next to their name in the panel's list.
      for (const item of this.membersList.children) {
        const side = verdict.proponents?.includes(item.dataset.agent) ? 'for' : verdict.opponents?.includes(item.dataset.agent) ? 'against' : null;
        item.querySelector('.side-tag')?.remove();
        if (side) item.querySelector('.speaker-role').append(h('span', { class: 'side-tag', dataset: { side } }, ` · argues ${side}`));
      }
    }
  }

  async start() {
    this.startButton.disabled = true;
    try {
      await this.ctx.api.executePanel(this.panelId);
      this.setStatus('queued');
      this.showAlert('');
    } catch (error) {
      this.showAlert(`The panel could not be started. ${error.explanation || error.message}`);
    } finally {
      this.startButton.disabled = false;
    }
  }

  async cancel() {
    this.cancelButton.disabled = true;
    try {
      await this.ctx.api.cancelPanel(this.panelId);
      this.ctx.announce('Cancelling the panel.');
    } catch (error) {
      this.showAlert(
        error.status === 409 ? 'The panel has already ended; there is nothing to cancel.' : `The panel could not be cancelled. ${error.explanation || error.message}`,
      );
    } finally {
      this.cancelButton.disabled = false;
    }
  }

  /** Play the stored events again, one step at a time. */
  replay() {
    const events = [...this.events];
    this.replaying = true;
    this.replayQueue = events;
    this.clearViews();
    this.renderProgress();
    this.ctx.announce('Replaying the discussion.');
    this.skipButton.focus();
    const step = () => {
      const event = this.replayQueue.shift();
      if (!event) {
        this.finishReplay();
        return;
      }
      this.apply(event, { live: false });
      this.replayTimer = setTimeout(step, event.type === 'expert_speaking' ? REPLAY_STEP_MS * 2 : REPLAY_STEP_MS);
    };
    step();
  }

  finishReplay() {
    clearTimeout(this.replayTimer);
    for (const event of this.replayQueue || []) this.apply(event, { live: false });
    this.replayQueue = [];
    this.replaying = false;
    this.renderProgress();
    this.replayButton.focus();
  }

  clearViews() {
    this.transcript.reset();
    this.chart.reset();
    this.outcome.hidden = true;
    this.currentRound = 0;
    this.status = 'in_progress';
    this.showAlert('');
    this.showNotice('');
  }
}
