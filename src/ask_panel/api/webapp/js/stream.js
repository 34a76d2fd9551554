// A panel's live event stream: one connection at a time, resumed after any drop from the last event id,
// every persisted event delivered once and in order (de-duplicated by id, gaps refetched).
//
// PanelStream owns reconnects and de-duplication; a transport only opens one connection and yields its
// frames. Two transports:
//   fetchTransport       – fetch() with the bearer token and X-Tenant-ID headers; sends Last-Event-ID itself.
//   eventSourceTransport – the browser's EventSource with a stream ticket (`?ticket=`) and `?last_event_id=`.
//                          A ticket serves its stream's reconnects until it expires, so after a drop the
//                          browser's own reconnect (the same URL with a Last-Event-ID header, which the
//                          server prefers to the URL's id) resumes the stream; once the EventSource gives
//                          up (an expired ticket, a 204 at the end), a new ticket and connection are ours.
// Either way the ids seen are checked here, so a server that repeats or skips ids cannot duplicate or lose
// a message on screen.

/** Event names of the stream (EventSource needs them listed; fetch sees every name). */
export const EVENT_NAMES = [
  'panel_started',
  'round_started',
  'expert_speaking',
  'expert_token',
  'expert_error',
  'round_complete',
  'consensus_update',
  'panel_complete',
  'panel_cancelled',
  'error',
];

/** An event that ends the panel: nothing follows it. */
export function isTerminal(type, data) {
  if (type === 'panel_complete' || type === 'panel_cancelled') return true;
  return type === 'error' && Boolean(data && data.terminal);
}

/** The server answered with an HTTP error; `problem` is its problem+json body when it sent one. */
export class StreamHttpError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.name = 'StreamHttpError';
    this.status = status;
    this.problem = problem || null;
  }
}

/** The server says the stream has nothing more to send (HTTP 204). */
export class StreamFinished extends Error {
  constructor() {
    super('The stream has ended');
    this.name = 'StreamFinished';
  }
}

/** Statuses worth another try; any other HTTP error ends the stream (401, 403, 404, 400, ...). */
function retriable(status) {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Server-Sent Events parsing as the HTML standard defines it: lines end in CRLF, LF or CR; a blank line
 * dispatches; `data` lines join with "\n"; a frame cut off by the end of the body is discarded.
 */
export class SSEParser {
  constructor() {
    this.buffer = '';
    this.frame = {};
    this.pendingCR = false;
  }

  /** Feed decoded text; returns the frames completed by it: {id, event, data, retry, comment}. */
  feed(text) {
    const frames = [];
    let start = 0;
    let input = this.buffer + text;
    if (this.pendingCR && input.startsWith('\n')) input = input.slice(1);
    this.pendingCR = false;
    for (let i = 0; i < input.length; i++) {
      const char = input[i];
      if (char !== '\n' && char !== '\r') continue;
      this.line(input.slice(start, i), frames);
      if (char === '\r') {
        if (i + 1 === input.length) this.pendingCR = true;
        else if (input[i + 1] === '\n') i++;
      }
      start = i + 1;
    }
    this.buffer = input.slice(start);
    return frames;
  }

  line(line, frames) {
    if (line === '') {
      if (Object.keys(this.frame).length > 0) frames.push(this.frame);
      this.frame = {};
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === '') {
      this.frame.comment = value;
    } else if (field === 'data') {
      this.frame.data = this.frame.data === undefined ? value : `${this.frame.data}\n${value}`;
    } else if (field === 'event') {
      this.frame.event = value;
    } else if (field === 'id') {
      if (!value.includes('\0')) this.frame.id = value;
    } else if (field === 'retry') {
      if (/^\d+$/.test(value)) this.frame.retry = Number(value);
    }
  }
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function streamUrl(panelId, params) {
  const query = params.toString();
  return `/api/v1/panels/${encodeURIComponent(panelId)}/stream${query ? `?${query}` : ''}`;
}

/** Connections made with fetch(): headers (token, tenant, Last-Event-ID) are ours to send. */
export function fetchTransport(headersOf) {
  return {
    name: 'fetch',
    async *open({ panelId, lastEventId, tokens, signal }) {
      const params = new URLSearchParams();
      if (tokens) params.set('tokens', 'true');
      const headers = { Accept: 'text/event-stream', ...headersOf() };
      if (lastEventId > 0) headers['Last-Event-ID'] = String(lastEventId);
      const response = await fetch(streamUrl(panelId, params), { headers, signal, cache: 'no-store' });
      if (response.status === 204) throw new StreamFinished();
      if (!response.ok) throw new StreamHttpError(response.status, await problemOf(response));
      yield { opened: true };
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SSEParser();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return; // a frame cut off by the end of the body is never dispatched
          yield* parser.feed(value);
        }
      } finally {
        reader.cancel().catch(() => {});
      }
    },
  };
}

/** A queue an event handler pushes to and an async generator pulls from. */
class FrameQueue {
  constructor() {
    this.items = [];
    this.waiting = null;
    this.error = null;
    this.closed = false;
  }

  push(item) {
    this.items.push(item);
    this.wake();
  }

  fail(error) {
    this.error = error;
    this.wake();
  }

  close() {
    this.closed = true;
    this.wake();
  }

  wake() {
    const resolve = this.waiting;
    this.waiting = null;
    if (resolve) resolve();
  }

  async *drain() {
    for (;;) {
      while (this.items.length > 0) yield this.items.shift();
      if (this.error) throw this.error;
      if (this.closed) return;
      await new Promise((resolve) => {
        this.waiting = resolve;
      });
    }
  }
}

/**
 * Connections made with the browser's EventSource and a stream ticket (EventSource cannot send headers).
 * `mintTicket(panelId)` returns {ticket}; it throws a StreamHttpError-like error ({status}) when refused.
 */
export function eventSourceTransport(mintTicket, names = EVENT_NAMES) {
  return {
    name: 'eventsource',
    async *open({ panelId, lastEventId, tokens, signal }) {
      let ticket;
      try {
        ({ ticket } = await mintTicket(panelId));
      } catch (error) {
        if (typeof error?.status === 'number' && error.status > 0) {
          throw new StreamHttpError(error.status, error.problem);
        }
        throw error;
      }
      const params = new URLSearchParams({ ticket });
      if (tokens) params.set('tokens', 'true');
      if (lastEventId > 0) params.set('last_event_id', String(lastEventId));
      const source = new EventSource(streamUrl(panelId, params));
      const queue = new FrameQueue();
      let previousId = '';
      const stop = () => {
        source.close();
        queue.close();
      };
      signal.addEventListener('abort', stop, { once: true });
      source.addEventListener('open', () => queue.push({ opened: true }));
      for (const name of names) {
        source.addEventListener(name, (event) => {
          if (!(event instanceof MessageEvent)) {
            // A connection error (only 'error' gets these). While the EventSource reconnects by itself
            // (CONNECTING), the ticket still serves it; once it has given up (CLOSED: refused, expired, or
            // 204 at the end), resuming is ours to do.
            if (source.readyState === EventSource.CONNECTING) {
              queue.push({ reconnecting: true });
              return;
            }
            source.close();
            queue.fail(new Error('The event stream connection was lost'));
            return;
          }
          // EventSource keeps the last id for frames that carry none (token deltas): a new id is a new event.
          const id = event.lastEventId !== previousId ? event.lastEventId : undefined;
          previousId = event.lastEventId;
          queue.push({ id, event: name, data: event.data });
        });
      }
      try {
        yield* queue.drain();
      } finally {
        signal.removeEventListener('abort', stop);
        source.close();
      }
    },
  };
}

/**
 * One panel's events, delivered once each and in order across any number of connections.
 *
 * onEvent({id, type, data}) gets persisted events (id a number) and token deltas (id null).
 * onStatus(status, detail) gets 'connecting' | 'live' | 'reconnecting' | 'offline' | 'ended' | 'failed'.
 * isFinished(lastEventId) (optional, async) is asked after a connection ended without any event: true
 * means the panel has ended and everything up to its last event was received.
 */
export class PanelStream {
  constructor({
    panelId,
    transport,
    tokens = true,
    lastEventId = 0,
    onEvent,
    onStatus = () => {},
    isFinished = null,
    retryMs = 2000,
    maxRetryMs = 30000,
  }) {
    this.panelId = panelId;
    this.transport = transport;
    this.tokens = tokens;
    this.lastEventId = lastEventId;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.isFinished = isFinished;
    this.retryMs = retryMs;
    this.maxRetryMs = maxRetryMs;
    this.status = 'idle';
    this.stopped = false;
    this.controller = null;
    this.wakeUp = null;
    this.gapRetries = 0;
    this.stats = { connections: 0, reconnects: 0, duplicates: 0, gaps: 0 };
    this.onOnline = () => this.wake();
    this.onOffline = () => {
      if (!this.stopped && this.status !== 'ended') this.setStatus('offline');
    };
  }

  /** Start streaming; resolves when the stream has ended, failed or been stopped. */
  start() {
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.done = this.run().finally(() => {
      window.removeEventListener('online', this.onOnline);
      window.removeEventListener('offline', this.onOffline);
    });
    return this.done;
  }

  /** Stop for good (the page no longer shows this panel). */
  stop() {
    this.stopped = true;
    this.controller?.abort();
    this.wake();
  }

  setStatus(status, detail = {}) {
    this.status = status;
    this.onStatus(status, { ...detail, stats: { ...this.stats }, lastEventId: this.lastEventId });
  }

  wake() {
    const resolve = this.wakeUp;
    this.wakeUp = null;
    if (resolve) resolve();
  }

  pause(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** The wait before connection attempt `attempt` (0 = first retry): the server's hint, doubled, with jitter. */
  delay(attempt) {
    const base = Math.max(250, this.retryMs);
    return Math.min(this.maxRetryMs, base * 2 ** Math.min(attempt, 8)) * (0.8 + Math.random() * 0.4);
  }

  async run() {
    let failures = 0;
    while (!this.stopped) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.stats.connections > 0) this.stats.reconnects += 1;
      this.stats.connections += 1;
      this.setStatus(this.stats.connections === 1 ? 'connecting' : 'reconnecting', { attempt: failures });
      let events = 0;
      let gap = false;
      try {
        const frames = this.transport.open({
          panelId: this.panelId,
          lastEventId: this.lastEventId,
          tokens: this.tokens,
          signal: controller.signal,
        });
        for await (const frame of frames) {
          if (this.stopped) return;
          if (frame.opened) {
            this.setStatus('live');
            continue;
          }
          if (frame.reconnecting) {
            // The transport reconnects by itself (EventSource), from the last id it received.
            this.stats.connections += 1;
            this.stats.reconnects += 1;
            this.setStatus('reconnecting', { attempt: failures });
            continue;
          }
          if (frame.retry !== undefined) this.retryMs = frame.retry;
          if (frame.event === undefined && frame.data === undefined) continue; // heartbeat or retry hint
          const outcome = this.accept(frame);
          if (outcome === 'gap') {
            gap = true;
            break;
          }
          if (outcome === 'delivered') {
            events += 1;
            failures = 0;
          }
          if (outcome === 'terminal') {
            this.finish('ended');
            return;
          }
        }
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof StreamFinished) {
          this.finish('ended');
          return;
        }
        if (error instanceof StreamHttpError && !retriable(error.status)) {
          this.finish('failed', { error });
          return;
        }
      } finally {
        controller.abort();
      }
      if (this.stopped) return;
      if (events === 0 && this.isFinished && (await this.askFinished())) {
        this.finish('ended');
        return;
      }
      if (this.stopped) return;
      if (gap) continue; // ask again at once from the last event held
      if (navigator.onLine === false) this.setStatus('offline');
      else this.setStatus('reconnecting', { attempt: failures });
      await this.pause(this.delay(failures));
      failures += 1;
    }
  }

  async askFinished() {
    try {
      return Boolean(await this.isFinished(this.lastEventId));
    } catch {
      return false;
    }
  }

  finish(status, detail = {}) {
    this.stopped = true;
    this.controller?.abort();
    this.setStatus(status, detail);
  }

  /** 'delivered' | 'terminal' | 'duplicate' | 'gap' | 'token' for one frame. */
  accept(frame) {
    const type = frame.event || 'message';
    let data;
    try {
      data = frame.data === undefined ? {} : JSON.parse(frame.data);
    } catch {
      data = { raw: frame.data };
    }
    if (frame.id === undefined || frame.id === '') {
      this.onEvent({ id: null, type, data });
      return 'token';
    }
    const id = Number(frame.id);
    if (!Number.isSafeInteger(id) || id <= this.lastEventId) {
      this.stats.duplicates += 1;
      return 'duplicate';
    }
    if (id > this.lastEventId + 1 && this.gapRetries < 3) {
      // Ids have no gaps: one missing means an event was lost on the way. Ask again from the last one held.
      this.stats.gaps += 1;
      this.gapRetries += 1;
      return 'gap';
    }
    this.gapRetries = 0;
    this.lastEventId = id;
    this.onEvent({ id, type, data });
    return isTerminal(type, data) ? 'terminal' : 'delivered';
  }
}
