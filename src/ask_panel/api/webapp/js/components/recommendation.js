// The panel's outcome: the recommendation with its rationale, agreement, dissent, the degraded flag and its fallbacks.

import { duration, h, percent } from '../dom.js';
import { amount, stepLabel, withUnit } from '../labels.js';

const DECIDED_BY = { moderator: 'the moderator', judge: 'the judge', facilitator: 'the facilitator' };

/**
 * The outcome card from a `panel_complete` event's data:
 * {recommendation: {recommendation, rationale, agreement_points, dissent, degraded, decided_by, verdict, fallbacks,
 *  estimate}, consensus, confidence, duration, usage}. `nameOf(agentId)` names experts (for a verdict and the
 * steps that fell back); `silent` lists the turns that were not answered, as [{name, round}] (the page saw them
 * as `expert_error` events).
 */
export function recommendationCard(outcome, nameOf = (id) => id, silent = []) {
  const rec = outcome.recommendation || {};
  const estimate = rec.estimate && typeof rec.estimate.median === 'number' ? rec.estimate : null;
  return h(
    'div',
    { class: 'recommendation' },
    rec.degraded ? degradedNote(rec.fallbacks || [], nameOf, silent) : null,
    h('p', { class: 'recommendation-text' }, rec.recommendation || 'No recommendation was given.'),
    h(
      'dl',
      { class: estimate ? 'outcome-figures many' : 'outcome-figures' },
      estimate ? figure('Estimate', withUnit(estimate.median, estimate.unit)) : null,
      estimate && typeof estimate.q1 === 'number' && typeof estimate.q3 === 'number'
        ? figure('Middle half of estimates', `${amount(estimate.q1)} to ${withUnit(estimate.q3, estimate.unit)}`)
        : null,
      figure('Consensus', percent(outcome.consensus)),
      figure('Confidence', percent(outcome.confidence)),
      figure('Decided by', DECIDED_BY[rec.decided_by] || rec.decided_by || '–'),
      figure('Duration', duration(outcome.duration)),
    ),
    rec.verdict ? verdict(rec.verdict, nameOf) : null,
    rec.rationale ? h('div', { class: 'outcome-block' }, h('h3', {}, 'Rationale'), h('p', {}, rec.rationale)) : null,
    // In a debate these are the arguments the judge's reasons cite, and the losing side: not an agreement.
    list(rec.verdict ? 'Arguments the judge relied on' : 'Where the experts agree', rec.agreement_points, 'agreement'),
    list(
      rec.verdict ? 'The other side' : 'Dissent',
      rec.dissent,
      'dissent',
      rec.verdict ? 'Neither side lost the debate.' : 'No dissent was recorded.',
    ),
  );
}

/**
 * Why the result is incomplete: the experts who did not answer (when the page saw it) and the steps that fell
 * back (an answer that could not be read, a budget reached), each in words.
 */
function degradedNote(fallbacks, nameOf, silent) {
  const who = [...new Map(silent.map((s) => [`${s.name}:${s.round}`, s])).values()];
  const parts = [];
  if (who.length) parts.push(`${sentenceList(who.map((s) => (s.round ? `${s.name} (round ${s.round})` : s.name)))} did not answer.`);
  if (fallbacks.length) parts.push('An answer could not be read or a budget ended the discussion early, so these steps used a fallback:');
  if (!parts.length) parts.push('At least one expert did not answer.');
  return h(
    'div',
    { class: 'degraded', role: 'note' },
    h('p', {}, h('strong', {}, 'Incomplete panel. '), parts.join(' '), fallbacks.length ? '' : ' Weigh this recommendation with that in mind.'),
    fallbacks.length
      ? h(
          'ul',
          { class: 'fallbacks' },
          fallbacks.map((f) => h('li', { dataset: { step: f.step } }, h('strong', {}, stepLabel(f.step, nameOf)), h('span', { class: 'fallback-reason' }, ` – ${f.reason}`))),
        )
      : null,
    fallbacks.length ? h('p', {}, 'Weigh this recommendation with that in mind.') : null,
  );
}

function sentenceList(items) {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
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
      typeof data.confidence === 'number' ? ` (the judge is ${percent(data.confidence)} confident)` : '',
    ),
    data.winner === 'undecided' && data.settle ? h('p', {}, h('strong', {}, 'What would settle it: '), data.settle) : null,
    h('p', { class: 'muted' }, `For: ${side(data.proponents)}. Against: ${side(data.opponents)}.`),
  );
}
