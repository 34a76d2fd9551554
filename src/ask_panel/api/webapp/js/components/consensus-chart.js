// The consensus chart: level and confidence after each round, against the panel's threshold (inline SVG).

import { h, percent, svg } from '../dom.js';

const WIDTH = 360;
const HEIGHT = 190;
const MARGIN = { top: 14, right: 22, bottom: 30, left: 46 };

export class ConsensusChart {
  constructor({ maxRounds = 3, threshold = null } = {}) {
    this.maxRounds = maxRounds;
    this.threshold = threshold;
    this.points = new Map();
    this.over = false;
    this.figure = h('div', { class: 'chart-figure' });
    this.table = h('table', { class: 'chart-table' });
    this.legend = h(
      'ul',
      { class: 'chart-legend', 'aria-hidden': 'true' },
      h('li', { class: 'legend-level' }, 'Consensus level'),
      h('li', { class: 'legend-confidence' }, 'Confidence'),
      threshold === null ? null : h('li', { class: 'legend-threshold' }, `Threshold ${percent(threshold)}`),
    );
    this.values = h('details', { class: 'chart-values' }, h('summary', {}, 'Values by round'), this.table);
    this.element = h('div', { class: 'consensus-chart' }, this.figure, this.legend, this.values);
    this.draw();
  }

  reset() {
    this.points.clear();
    this.over = false;
    this.draw();
  }

  /** The panel has ended: an empty chart now says that no round was measured, not that one will be. */
  ended() {
    this.over = true;
    this.draw();
  }

  /** A `consensus_update` event. */
  update(data) {
    this.points.set(data.round, { level: data.level, confidence: data.confidence });
    this.draw();
  }

  draw() {
    const rounds = [...this.points.keys()].sort((a, b) => a - b);
    this.legend.hidden = rounds.length === 0;
    this.values.hidden = rounds.length === 0;
    if (!rounds.length) {
      // Nothing to draw yet: a line of text, not an empty grid that pushes the discussion down on a phone.
      const threshold = this.threshold === null ? '' : ` The panel may stop early once it reaches ${percent(this.threshold)}.`;
      this.figure.replaceChildren(
        h(
          'p',
          { class: 'chart-empty' },
          this.over ? 'No round was measured.' : `How far the experts agree, and how confident they are, is measured after each round.${threshold}`,
        ),
      );
      return;
    }
    const lastRound = Math.max(this.maxRounds, ...rounds, 1);
    const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
    const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
    const x = (round) => MARGIN.left + (lastRound === 1 ? plotWidth / 2 : ((round - 1) / (lastRound - 1)) * plotWidth);
    const y = (value) => MARGIN.top + (1 - Math.max(0, Math.min(1, value))) * plotHeight;

    const grid = [0, 0.25, 0.5, 0.75, 1].map((value) =>
      svg(
        'g',
        { class: 'grid' },
        svg('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value) }),
        svg('text', { x: MARGIN.left - 6, y: y(value) + 4, 'text-anchor': 'end' }, `${value * 100}%`),
      ),
    );
    const ticks = [];
    for (let round = 1; round <= lastRound; round++) {
      const anchor = lastRound === 1 ? 'middle' : round === 1 ? 'start' : round === lastRound ? 'end' : 'middle';
      ticks.push(svg('text', { class: 'tick', x: x(round), y: HEIGHT - 8, 'text-anchor': anchor }, lastRound <= 5 ? `Round ${round}` : String(round)));
    }
    const series = (key, className) => {
      if (rounds.length === 0) return null;
      const coordinates = rounds.map((round) => [x(round), y(this.points.get(round)[key])]);
      return svg(
        'g',
        { class: className },
        svg('polyline', { points: coordinates.map((c) => c.join(',')).join(' ') }),
        rounds.map((round, i) =>
          svg(
            'circle',
            { cx: coordinates[i][0], cy: coordinates[i][1], r: 4 },
            svg('title', {}, `Round ${round}: ${percent(this.points.get(round)[key])}`),
          ),
        ),
      );
    };
    const threshold =
      this.threshold === null
        ? null
        : svg('line', {
            class: 'threshold',
            x1: MARGIN.left,
            x2: WIDTH - MARGIN.right,
            y1: y(this.threshold),
            y2: y(this.threshold),
          });
    const latest = rounds.length ? this.points.get(rounds[rounds.length - 1]) : null;
    const label = latest
      ? `Consensus after round ${rounds[rounds.length - 1]}: level ${percent(latest.level)}, confidence ${percent(latest.confidence)}` +
        (this.threshold === null ? '' : `; threshold ${percent(this.threshold)}`)
      : 'No consensus measured yet';
    const chart = svg(
      'svg',
      { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': label, preserveAspectRatio: 'xMidYMid meet' },
      grid,
      ticks,
      threshold,
      series('confidence', 'series-confidence'),
      series('level', 'series-level'),
    );
    this.figure.replaceChildren(chart);
    this.table.replaceChildren(
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Round'), h('th', { scope: 'col' }, 'Level'), h('th', { scope: 'col' }, 'Confidence'))),
      h(
        'tbody',
        {},
        rounds.map((round) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, String(round)),
            h('td', {}, percent(this.points.get(round).level)),
            h('td', {}, percent(this.points.get(round).confidence)),
          ),
        ),
      ),
    );
  }
}
