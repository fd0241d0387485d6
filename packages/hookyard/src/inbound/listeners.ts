import type { Clock, Timer } from "../clock.js";
import { NotFoundError, ValidationError } from "../errors.js";
import { idFloor, idTime } from "../ids.js";
import type { InboundRequest, InboundRequestId, SourceId } from "../model.js";
import type { Store } from "../store/store.js";

/**
 * Listeners (`hookyard listen`): named cursors over the requests a source accepted. A listener
 * is sent every accepted request after the last one it acknowledged, oldest first, then new ones
 * as they arrive; it acknowledges each once its local app has answered. Nothing has to be kept
 * for it: the requests are the source's own stored requests, so a listener that was offline
 * (or killed) resumes from its cursor and misses nothing the retention window still holds.
 *
 * Order is id order, which is arrival order within a process (ids are monotonic). A request
 * whose commit lands after a later one's was read (concurrent writers, several processes) is
 * still sent: ids up to LATE_COMMIT_MS before the cursor are looked at again, and the ones
 * acknowledged in that span are remembered so none is sent twice.
 */

/** How long before the newest id a request may still commit and be seen (then, out of order). */
export const LATE_COMMIT_MS = 2_000;
/** Requests sent to a listener and not yet acknowledged: what its client may buffer. */
const WINDOW_REQUESTS = 100;
/** …and their bytes: one large body may exceed it, a second waits for an acknowledgement. */
const WINDOW_BYTES = 8 * 1024 * 1024;
/** Looked for without a wake-up (another process of a cluster received it; a late commit). */
const POLL_MS = 1_000;
const PAGE = 100;
const MAX_REMEMBERED = 1_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export interface ListenerState {
  name: string;
  sourceId: SourceId;
  /** The newest request acknowledged; a new listener starts at the time it first connected. */
  cursor: InboundRequestId;
  /** Where the listener started: nothing received before its first connection is sent. */
  start: InboundRequestId;
  /** Requests acknowledged within LATE_COMMIT_MS before the cursor (sent again otherwise). */
  recent: InboundRequestId[];
  createdAt: number;
  updatedAt: number;
  acknowledged: number;
}

/** What a feed hands its stream: a request, or the mark that the backlog has been sent. */
export type FeedItem =
  { kind: "request"; request: InboundRequest } | { kind: "caught-up"; replayed: number };

interface ReceivedEvents {
  on(event: "received", fn: (request: InboundRequest) => void): unknown;
  off(event: "received", fn: (request: InboundRequest) => void): unknown;
}

export class Listeners {
  readonly #store: Pick<Store, "getSetting" | "setSetting" | "listInboundRequests">;
  readonly #clock: Clock;
  readonly #received: ReceivedEvents;
  /** Open feeds by listener key: an acknowledgement lets them send more. */
  readonly #feeds = new Map<string, Set<ListenerFeed>>();
  /** One state write at a time per listener: acknowledgements read, change and write it. */
  readonly #writes = new Map<string, Promise<unknown>>();

  constructor(deps: {
    store: Pick<Store, "getSetting" | "setSetting" | "listInboundRequests">;
    clock: Clock;
    received: ReceivedEvents;
  }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#received = deps.received;
  }

  async state(sourceId: SourceId, name: string): Promise<ListenerState | null> {
    checkName(name);
    const text = await this.#store.getSetting(settingKey(sourceId, name));
    return text === null ? null : (JSON.parse(text) as ListenerState);
  }

  /**
   * Opens a feed for the listener, made at its first connection with a cursor at that moment
   * (and stored at once: a listener killed before its first acknowledgement still resumes there).
   */
  async open(sourceId: SourceId, name: string): Promise<ListenerFeed> {
    const state = await this.#update(sourceId, name, (current) => {
      if (current !== null) return current;
      const now = this.#clock.now();
      return {
        name,
        sourceId,
        cursor: idFloor("req", now),
        start: idFloor("req", now),
        recent: [],
        createdAt: now,
        updatedAt: now,
        acknowledged: 0,
      };
    });
    const key = settingKey(sourceId, name);
    const feed = new ListenerFeed({
      state,
      store: this.#store,
      clock: this.#clock,
      received: this.#received,
      reread: () => this.state(sourceId, name),
      closed: () => {
        const open = this.#feeds.get(key);
        open?.delete(feed);
        if (open?.size === 0) this.#feeds.delete(key);
      },
    });
    let open = this.#feeds.get(key);
    if (open === undefined) this.#feeds.set(key, (open = new Set()));
    open.add(feed);
    return feed;
  }

  /** Records that the listener's app has answered `id`. */
  async acknowledge(
    sourceId: SourceId,
    name: string,
    id: InboundRequestId,
  ): Promise<ListenerState> {
    const state = await this.#update(sourceId, name, (current) => {
      if (current === null) return null;
      const now = this.#clock.now();
      return { ...withAcknowledged(current, id), updatedAt: now };
    });
    if (state === null) throw new NotFoundError(`No listener "${name}" on this source`);
    for (const feed of this.#feeds.get(settingKey(sourceId, name)) ?? []) feed.acknowledged(state);
    return state;
  }

  /** Forgets the listener: its next connection starts from that moment. */
  async forget(sourceId: SourceId, name: string): Promise<boolean> {
    const existed = (await this.state(sourceId, name)) !== null;
    // Settings have no delete; an empty value reads as "no listener".
    if (existed) await this.#store.setSetting(settingKey(sourceId, name), "null");
    return existed;
  }

  async #update<S extends ListenerState | null>(
    sourceId: SourceId,
    name: string,
    change: (current: ListenerState | null) => S,
  ): Promise<S> {
    checkName(name);
    const key = settingKey(sourceId, name);
    const previous = this.#writes.get(key) ?? Promise.resolve();
    const next = previous.then(async () => {
      const text = await this.#store.getSetting(key);
      const current = text === null ? null : (JSON.parse(text) as ListenerState | null);
      const changed = change(current);
      if (changed !== null && changed !== current) {
        await this.#store.setSetting(key, JSON.stringify(changed));
      }
      return changed;
    });
    const settled = next.catch(() => undefined);
    this.#writes.set(key, settled);
    void settled.then(() => {
      if (this.#writes.get(key) === settled) this.#writes.delete(key);
    });
    return next;
  }
}

/**
 * One connection's view of a listener: requests after the cursor, at most a window of them
 * unacknowledged, then new ones as they arrive or are found by the poll.
 */
export class ListenerFeed {
  readonly #store: Pick<Store, "listInboundRequests">;
  readonly #clock: Clock;
  readonly #received: ReceivedEvents;
  readonly #reread: () => Promise<ListenerState | null>;
  readonly #closed: () => void;
  readonly #sourceId: SourceId;
  readonly #start: InboundRequestId;
  /** The newest id sent on this connection (or acknowledged before it). */
  #sentUpTo: InboundRequestId;
  /** Ids sent or acknowledged within LATE_COMMIT_MS before `#sentUpTo`. */
  readonly #seen = new Set<InboundRequestId>();
  /** Sent and not yet acknowledged, in the order sent, with their sizes. */
  #inFlight: { id: InboundRequestId; bytes: number }[] = [];
  #ready: InboundRequest[] = [];
  #replayed = 0;
  #caughtUp = false;
  #isClosed = false;
  #wake: (() => void) | null = null;
  /** A wake-up that came while nobody slept (during a read): the next sleep returns at once. */
  #woken = false;
  #timer: Timer | null = null;
  #lastPoll = Number.NEGATIVE_INFINITY;
  readonly #onReceived = (request: InboundRequest) => {
    if (request.sourceId === this.#sourceId && request.status === "accepted") this.#signal();
  };

  constructor(deps: {
    state: ListenerState;
    store: Pick<Store, "listInboundRequests">;
    clock: Clock;
    received: ReceivedEvents;
    reread: () => Promise<ListenerState | null>;
    closed: () => void;
  }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#received = deps.received;
    this.#reread = deps.reread;
    this.#closed = deps.closed;
    this.#sourceId = deps.state.sourceId;
    this.#sentUpTo = deps.state.cursor;
    this.#start = deps.state.start;
    for (const id of deps.state.recent) this.#seen.add(id);
    this.#received.on("received", this.#onReceived);
  }

  /** The next item to send; resolves once there is one (or null once closed). */
  async next(): Promise<FeedItem | null> {
    for (;;) {
      if (this.#isClosed) return null;
      const ready = this.#ready.shift();
      if (ready !== undefined) {
        this.#inFlight.push({ id: ready.id, bytes: ready.body.length });
        if (!this.#caughtUp) this.#replayed++;
        return { kind: "request", request: ready };
      }
      if (this.#windowOpen()) {
        const found = await this.#find();
        if (this.#isClosed) return null;
        if (found) continue;
        if (!this.#caughtUp) {
          this.#caughtUp = true;
          return { kind: "caught-up", replayed: this.#replayed };
        }
      }
      await this.#sleep();
    }
  }

  /** The listener's state after an acknowledgement (through any process). */
  acknowledged(state: ListenerState): void {
    const acked = new Set(state.recent);
    const cursor = state.cursor;
    this.#inFlight = this.#inFlight.filter(({ id }) => id > cursor && !acked.has(id));
    for (const id of state.recent) this.#seen.add(id);
    this.#signal();
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#received.off("received", this.#onReceived);
    this.#timer?.cancel();
    this.#ready = [];
    this.#closed();
    this.#signal();
  }

  #windowOpen(): boolean {
    if (this.#inFlight.length === 0) return true;
    const bytes = this.#inFlight.reduce((sum, r) => sum + r.bytes, 0);
    return this.#inFlight.length < WINDOW_REQUESTS && bytes < WINDOW_BYTES;
  }

  /** Reads what is due from the store into `#ready`; true if it found any. */
  async #find(): Promise<boolean> {
    const room = WINDOW_REQUESTS - this.#inFlight.length;
    const now = this.#clock.now();
    const late = now - this.#lastPoll >= POLL_MS ? await this.#lateCommits() : [];
    if (late.length > 0 || now - this.#lastPoll >= POLL_MS) this.#lastPoll = now;
    const page = await this.#store.listInboundRequests(
      this.#sourceId,
      { status: "accepted" },
      { limit: Math.min(PAGE, Math.max(1, room)), iterator: this.#sentUpTo, order: "ascending" },
    );
    const fresh = page.data.filter((r) => !this.#seen.has(r.id));
    const found = [...late, ...fresh];
    for (const request of found) this.#remember(request.id);
    this.#ready.push(...found);
    return found.length > 0;
  }

  /**
   * Requests committed after a later one was read: ids shortly before `#sentUpTo` that this
   * listener has not seen. Run once a poll interval, and first of all at connection time.
   */
  async #lateCommits(): Promise<InboundRequest[]> {
    const state = await this.#reread();
    if (state !== null) this.acknowledged(state);
    const floor = idFloor("req", idTime(this.#sentUpTo) - LATE_COMMIT_MS);
    const from = floor > this.#start ? floor : this.#start;
    const page = await this.#store.listInboundRequests(
      this.#sourceId,
      { status: "accepted" },
      { limit: MAX_REMEMBERED, iterator: from, order: "ascending" },
    );
    return page.data.filter((r) => r.id < this.#sentUpTo && !this.#seen.has(r.id));
  }

  #remember(id: InboundRequestId): void {
    this.#seen.add(id);
    if (id > this.#sentUpTo) this.#sentUpTo = id;
    if (this.#seen.size <= MAX_REMEMBERED) return;
    const floor = idFloor("req", idTime(this.#sentUpTo) - LATE_COMMIT_MS);
    for (const seen of this.#seen) if (seen < floor) this.#seen.delete(seen);
  }

  #sleep(): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = this.#clock.setTimer(POLL_MS, () => this.#signal());
    });
  }

  #signal(): void {
    this.#timer?.cancel();
    this.#timer = null;
    const wake = this.#wake;
    this.#wake = null;
    if (wake === null) this.#woken = true;
    else wake();
  }
}

/** `state` after its app answered `id`: the cursor moves on, the span behind it is remembered. */
function withAcknowledged(state: ListenerState, id: InboundRequestId): ListenerState {
  const cursor = id > state.cursor ? id : state.cursor;
  const floor = idFloor("req", idTime(cursor) - LATE_COMMIT_MS);
  const recent = [...new Set([...state.recent, id])]
    .filter((r) => r >= floor && r <= cursor)
    .slice(-MAX_REMEMBERED);
  return { ...state, cursor, recent, acknowledged: state.acknowledged + 1 };
}

function settingKey(sourceId: SourceId, name: string): string {
  return `listener:${sourceId}:${name}`;
}

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw ValidationError.field(
      ["path", "name"],
      `Listener name "${name.slice(0, 40)}" must be 1 to 128 letters, digits or . _ : @ - (starting with a letter or digit)`,
    );
  }
}
