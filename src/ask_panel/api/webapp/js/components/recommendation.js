// The panel's outcome: the recommendation with its rationale, agreement, dissent, the degraded flag and its fallbacks.

import { duration, h, percent } from '../dom.js';

const DECIDED_BY = { moderator: 'the moderator', judge: 'the judge', facilitator: 'the facilitator' };

/**
 * The outcome card from a `panel_complete` event's data:
 * {recommendation: {recommendation, rationale, agreement_points, dissent, degraded, decided_by, verdict, fallbacks},
 *  consensus, confidence, duration, usage}. `nameOf(agentId)` names experts (for an adversarial verdict).
 */
export function recommendationCard(outcome, nameOf = (id) => id) {
  const rec = outcome.recommendation || {};
  return h(
    'div',
    { class: 'recommendation' },
    rec.degraded ? degradedNote(rec.fallbacks || []) : null,
    h('p', { class: 'recommendation-text' }, rec.recommendation || 'No recommendation was given.'),
    h(
      'dl',
      { class: 'outcome-figures' },
      figure('Consensus', percent(outcome.consensus)),
      figure('Confidence', percent(outcome.confidence)),
      figure('Decided by', DECIDED_BY[rec.decided_by] || rec.decided_by || '–'),
      figure('Duration', duration(outcome.duration)),
    ),
    rec.verdict ? verdict(rec.verdict, nameOf) : null,
    rec.rationale ? h('div', { class: 'outcome-block' }, h('h3', {}, 'Rationale'), h('p', {}, rec.rationale)) : null,
    list('Where the experts agree', rec.agreement_points, 'agreement'),
    list('Dissent', rec.dissent, 'dissent', 'No dissent was recorded.'),
  );
}

/** Why the result is degraded: the steps that fell back (an answer that could not be read, a budget reached), if any. */
function degradedNote(fallbacks) {
  return h(
    'div',
    { class: 'degraded', role: 'note' },
    h(
      'p',
      {},
      h('strong', {}, 'Degraded result. '),
      fallbacks.length
        ? 'An answer could not be read or a budget ended the discussion early, so these steps fell back; weigh this recommendation with that in mind.'
        : 'At least one expert stayed silent or failed; weigh this recommendation with that in mind.',
    ),
    fallbacks.length
      ? h(
          'ul',
          { class: 'fallbacks' },
          fallbacks.map((f) => h('li', {}, h('code', {}, f.step), ': ', f.reason)),
        )
      : null,
  );
}

function figure(term, value) {
  return h('div', {}, h('dt', {}, term), h('dd', {}, value));
}

function list(title, items, className, emptyText = null) {
  if (!items?.length && !emptyText) return null;
  return h(
    'div',
    { class: `outcome-block ${className}` },
    h('h3', {}, title),
    items?.length ? h('ul', {}, items.map((item) => h('li', {}, item))) : h('p', { class: 'muted' }, emptyText),
  );
}

function verdict(data, nameOf) {
  const side = (ids) => (ids || []).map(nameOf).join(', ') || '–';
  return h(
    'div',
    { class: 'outcome-block verdict' },
    h('h3', {}, 'Verdict'),
    data.proposition ? h('p', {}, h('strong', {}, 'Proposition: '), data.proposition) : null,
    h(
      'p',
      {},
      h('strong', {}, 'Stronger case: '),
      data.winner === 'proponents' ? 'for the proposition' : data.winner === 'opponents' ? 'against the proposition' : data.winner === 'undecided' ? 'neither side (undecided)' : String(data.winner || '–'),
      typeof data.confidence === 'number' ? ` (${percent(data.confidence)} confidence)` : '',
    ),
    data.winner === 'undecided' && data.settle ? h('p', {}, h('strong', {}, 'What would settle it: '), data.settle) : null,
    h('p', { class: 'muted' }, `For: ${side(data.proponents)}. Against: ${side(data.opponents)}.`),
  );
}
