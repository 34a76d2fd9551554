// What the service's names mean to a person: panel types, statuses and speaker roles.

export const PANEL_TYPES = {
  structured: {
    label: 'Structured',
    summary: 'Independent analyses, then refinement rounds; stops early once the threshold is reached.',
  },
  open: { label: 'Open', summary: 'A moderated discussion: the moderator picks who speaks next.' },
  socratic: { label: 'Socratic', summary: 'The moderator questions each expert and probes their reasoning.' },
  adversarial: {
    label: 'Adversarial',
    summary: 'Proponents and opponents debate a proposition; a judge decides.',
  },
  delphi: {
    label: 'Delphi',
    summary: 'Anonymous rounds with estimates; the facilitator feeds back the median until views settle.',
  },
};

export const STATUSES = {
  draft: 'Draft',
  queued: 'Queued',
  in_progress: 'In progress',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export const TERMINAL_STATUSES = new Set(['completed', 'failed', 'cancelled']);

/** Panel types whose length does not depend on agreement: a debate runs every round, Delphi stops when estimates settle. */
const NO_THRESHOLD = new Set(['adversarial', 'delphi']);

/** Whether the consensus threshold decides when a panel of this type stops early. */
export function usesThreshold(type) {
  return !NO_THRESHOLD.has(type);
}

export function panelTypeLabel(type) {
  return PANEL_TYPES[type]?.label || type;
}

export function statusLabel(status) {
  return STATUSES[status] || status;
}

/** Speakers that are not panel members (their role is the agent id). */
export const FACILITATORS = {
  moderator: 'Moderator',
  facilitator: 'Facilitator',
  judge: 'Judge',
};

/**
 * A fallen-back step in words (the service names steps `frame`, `synthesis`, `r2:fda_expert`, `r1:q:<agent>`,
 * `t3:next`, ...). `nameOf(agentId)` names experts. An unknown step is shown as it is.
 */
export function stepLabel(step, nameOf = (id) => id) {
  const once = {
    frame: 'Setting out the options',
    proposition: 'Stating the proposition',
    verdict: 'The judge’s verdict',
    synthesis: 'The final synthesis',
  };
  if (once[step]) return once[step];
  const match = /^([rt])(\d+):(.+)$/.exec(String(step));
  if (!match) return String(step);
  const [, unit, digits, rest] = match;
  const number = Number(digits);
  if (unit === 't') {
    if (rest === 'next') return `Choosing who speaks next (turn ${number + 1})`;
    return `${nameOf(rest)}’s turn ${number + 1}`;
  }
  if (rest === 'targets') return `Choosing whom to question in round ${number}`;
  if (rest === 'feedback') return `The feedback after round ${number}`;
  if (rest.startsWith('q:')) return `The question to ${nameOf(rest.slice(2))} in round ${number}`;
  if (rest.startsWith('a:')) return `${nameOf(rest.slice(2))}’s answer in round ${number}`;
  return `${nameOf(rest)}’s turn in round ${number}`;
}

/** A number as people write it: 10 not 10.0, 16.5 stays. */
export function amount(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  return String(Math.round(value * 10) / 10);
}

/** A value with its unit: "18 months", "35%" (percent is written without a space). */
export function withUnit(value, unit) {
  const text = amount(value);
  if (!unit || text === '–') return text;
  return unit === '%' || unit === 'percent' ? `${text}%` : `${text} ${unit}`;
}
