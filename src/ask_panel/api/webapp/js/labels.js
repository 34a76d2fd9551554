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
