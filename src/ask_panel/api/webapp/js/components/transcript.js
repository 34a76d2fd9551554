// The live transcript: rounds, each expert's turn as it is written (token deltas), then as stored.

import { h, hueOf, initials, percent, time } from '../dom.js';
import { amount, FACILITATORS, withUnit } from '../labels.js';

export class Transcript {
  constructor() {
    this.element = h('div', { class: 'transcript' });
    this.members = new Map();
    this.reset();
  }

  /** Forget everything shown (before a replay). */
  reset() {
    this.rounds = new Map();
    this.drafts = new Map();
    this.proposition = null;
    this.unit = null;
    this.silent = [];
    this.stored = 0;
    this.placeholder = h('p', { class: 'empty-note' }, 'The discussion appears here as the experts speak.');
    this.element.replaceChildren(this.placeholder);
  }

  /** Panel members: [{agent_id, agent_name, agent_role}]. */
  setMembers(members) {
    for (const member of members || []) this.members.set(member.agent_id, member);
  }

  /** Names of the experts whose turn is being written now. */
  speaking() {
    return [...this.drafts.values()].map((draft) => draft.name);
  }

  round(number) {
    let round = this.rounds.get(number);
    if (round) return round;
    this.placeholder.remove();
    const headingId = `round-${number}-heading`;
    const list = h('ol', { class: 'messages' });
    const summary = h('p', { class: 'round-summary', hidden: true });
    const section = h(
      'section',
      { class: 'round', 'aria-labelledby': headingId, dataset: { round: String(number) } },
      h('h3', { id: headingId, class: 'round-title' }, `Round ${number}`),
      list,
      summary,
    );
    round = { section, list, summary, consensus: null, messages: null, feedback: null };
    this.rounds.set(number, round);
    const later = [...this.rounds.keys()].filter((n) => n > number).sort((a, b) => a - b)[0];
    this.element.insertBefore(section, later === undefined ? null : this.rounds.get(later).section);
    return round;
  }

  roundStarted(data) {
    this.round(data.round);
  }

  speaker(agentId, agentName, role) {
    const member = this.members.get(agentId);
    const facilitator = FACILITATORS[role] || FACILITATORS[agentId];
    return {
      name: agentName || member?.agent_name || facilitator || agentId,
      role: member?.agent_role || facilitator || role || '',
      facilitator: Boolean(facilitator) && !member,
    };
  }

  /** A text delta of a turn being written (no id: not stored, may be lost on a reconnect). */
  token(data) {
    const key = `${data.round}:${data.agent_id}`;
    let draft = this.drafts.get(key);
    if (!draft) {
      const who = this.speaker(data.agent_id, data.agent_name, null);
      const text = document.createTextNode('');
      const item = this.card({ who, agentId: data.agent_id, body: h('p', { class: 'content' }, text), draft: true });
      this.round(data.round).list.append(item);
      draft = { item, text, name: who.name };
      this.drafts.set(key, draft);
    }
    draft.text.appendData(data.delta || '');
  }

  /** A stored turn (event `expert_speaking`); replaces the turn's draft where it stood. */
  message(id, data) {
    const who = this.speaker(data.agent_id, data.agent_name, data.role);
    const item = this.card({
      who,
      agentId: data.agent_id,
      body: paragraphs(data.content),
      stance: data.stance,
      timestamp: data.timestamp,
      eventId: id,
    });
    const key = `${data.round}:${data.agent_id}`;
    const draft = this.drafts.get(key);
    this.stored += 1;
    if (draft) {
      draft.item.remove();
      this.drafts.delete(key);
    }
    this.place(this.round(data.round).list, item, id);
  }

  /**
   * Put a stored item (a turn, an expert's failure) in the order of the log, before the turns still being
   * written: experts who speak at once finish in another order than they started, and the page shows the
   * order that reopening the panel shows.
   */
  place(list, item, id) {
    const after = [...list.children].find(
      (other) => other.classList.contains('draft') || (id !== null && Number(other.dataset.eventId) > id),
    );
    list.insertBefore(item, after || null);
  }

  /** A non-terminal failure of one expert (`expert_error`, or `error` without `terminal`). */
  expertError(id, data) {
    const number = data.round || Math.max(1, ...this.rounds.keys());
    const round = this.round(number);
    const who = data.agent_id ? this.speaker(data.agent_id, data.agent_name, null).name : 'An expert';
    const key = `${data.round}:${data.agent_id}`;
    this.drafts.get(key)?.item.remove();
    this.drafts.delete(key);
    this.silent.push({ name: who, round: data.round || null });
    // The service's message may start with the expert's name ("Laura Martinez could not answer: ..."): the reason only.
    const reason = String(data.message || '').replace(new RegExp(`^${escapeRegExp(who)} could not answer:\\s*`), '');
    this.place(
      round.list,
      h(
        'li',
        { class: 'message message-error', dataset: { eventId: String(id) } },
        h('p', {}, h('strong', {}, `${who} did not answer in this round.`), reason ? h('span', { class: 'error-reason' }, ` Reason: ${reason}`) : null),
      ),
      id,
    );
  }

  roundComplete(data) {
    const round = this.round(data.round);
    round.messages = data.messages;
    round.feedback = data.feedback || null;
    if (data.feedback?.unit && !this.unit) {
      this.unit = data.feedback.unit;
      for (const estimate of this.element.querySelectorAll('.stance-estimate')) {
        estimate.textContent = `estimate ${withUnit(Number(estimate.dataset.value), this.unit)}`;
      }
    }
    if (data.feedback?.proposition && !this.proposition) {
      this.proposition = data.feedback.proposition;
      this.element.prepend(
        h('p', { class: 'proposition' }, h('strong', {}, 'Proposition: '), data.feedback.proposition),
      );
    }
    this.summarize(round);
  }

  consensus(data) {
    const round = this.round(data.round);
    round.consensus = data;
    this.summarize(round);
  }

  summarize(round) {
    const parts = [];
    if (typeof round.messages === 'number') {
      parts.push(`${round.messages} contribution${round.messages === 1 ? '' : 's'}`);
    }
    if (round.consensus) {
      parts.push(`consensus ${percent(round.consensus.level)}, confidence ${percent(round.consensus.confidence)}`);
    }
    const distribution = round.feedback?.distribution;
    if (distribution && typeof distribution.median === 'number') {
      const unit = round.feedback.unit || this.unit;
      const middle = typeof distribution.q1 === 'number' && typeof distribution.q3 === 'number' ? `, middle half ${amount(distribution.q1)} to ${withUnit(distribution.q3, unit)}` : '';
      parts.push(`median estimate ${withUnit(distribution.median, unit)}${middle}`);
    }
    round.summary.hidden = parts.length === 0;
    round.summary.textContent = parts.length ? `End of round: ${parts.join(' · ')}` : '';
  }

  /** The connection was lost: turns being written lost some text; they are completed by the stored turn. */
  resumed() {
    for (const draft of this.drafts.values()) {
      draft.text.data = '';
      draft.item.querySelector('.draft-note').textContent = 'reconnected, waiting for the full text…';
    }
  }

  /** The panel has ended: drafts that never became turns are dropped. */
  end() {
    for (const draft of this.drafts.values()) draft.item.remove();
    this.drafts.clear();
    this.placeholder.textContent = 'No one spoke before the panel ended.';
    for (const round of this.rounds.values()) {
      if (round.list.children.length === 0) {
        round.list.append(h('li', { class: 'empty-note' }, 'No turn was finished in this round.'));
      }
    }
  }

  card({ who, agentId, body, stance = null, timestamp = null, eventId = null, draft = false }) {
    const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(who.name));
    avatar.style.setProperty('--hue', String(hueOf(agentId)));
    const classes = ['message'];
    if (draft) classes.push('draft');
    if (who.facilitator) classes.push('facilitator');
    return h(
      'li',
      {
        class: classes.join(' '),
        dataset: eventId === null ? { agent: agentId } : { agent: agentId, eventId: String(eventId) },
        'aria-busy': draft ? 'true' : false,
      },
      h(
        'article',
        { 'aria-label': `${who.name}${draft ? ' (writing)' : ''}` },
        h(
          'header',
          { class: 'message-head' },
          avatar,
          h('div', { class: 'speaker' }, h('span', { class: 'speaker-name' }, who.name), h('span', { class: 'speaker-role' }, who.role)),
          draft ? h('span', { class: 'draft-note' }, 'writing…') : null,
          timestamp ? h('time', { class: 'message-time', datetime: timestamp }, time(timestamp)) : null,
        ),
        body,
        stance ? stanceLine(stance, this.unit) : null,
      ),
    );
  }
}

function paragraphs(text) {
  const blocks = String(text || '')
    .split(/\n{2,}/)
    .map((block) => block.trim())
    .filter(Boolean);
  return h('div', { class: 'content' }, blocks.map((block) => h('p', {}, block)));
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function stanceLine(stance, unit) {
  const parts = [h('span', { class: 'stance-label' }, 'Position'), h('span', { class: 'stance-position' }, stance.position)];
  if (typeof stance.confidence === 'number') parts.push(h('span', { class: 'stance-confidence' }, `${percent(stance.confidence)} confident`));
  if (typeof stance.estimate === 'number') {
    parts.push(h('span', { class: 'stance-estimate', dataset: { value: String(stance.estimate) } }, `estimate ${withUnit(stance.estimate, unit)}`));
  }
  return h('p', { class: 'stance' }, parts);
}
