import type { Clock, Timer } from "../clock.js";
import { NotFoundError, ValidationError } from "../errors.js";
import { idFloor, idTime } from "../ids.js";
import type { IdPrefix } from "../ids.js";
import type { Store } from "../store/store.js";

/**
 * Listeners (`hookyard listen`): named cursors over a feed of stored items — the requests a
 * source accepted, or the messages an endpoint is sent (listener-feeds.ts). A listener is sent
 * every item after the last one it acknowledged, oldest first, then new ones as they arrive; it
 * acknowledges each once its local app has answered. Nothing has to be kept for it: the items
 * are already stored, so a listener that was offline (or killed) resumes from its cursor and
 * misses nothing the retention window still holds.
 *
 * Order is id order, which is arrival order within a process (ids are monotonic). An item
 * whose commit lands after a later one's was read (concurrent writers, several processes) is
 * still sent: ids up to LATE_COMMIT_MS before the cursor are looked at again, and the ones
 * acknowledged in that span are remembered so none is sent twice.
 */

/** How long before the newest id an item may still commit and be seen (then, out of order). */
export const LATE_COMMIT_MS = 2_000;
/** Items sent to a listener and not yet acknowledged: what its client may buffer. */
const WINDOW_ITEMS = 100;
/** …and their bytes: one large body may exceed it, a second waits for an acknowledgement. */
const WINDOW_BYTES = 8 * 1024 * 1024;
const PAGE = 100;
const MAX_REMEMBERED = 1_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** What a listener follows: stored items in id order, and a signal when new ones may be there. */
export interface FeedSource<T> {
  /** The feed's key (a source or endpoint id): listeners are named within it. */
  scope: string;
  /** The prefix of the items' ids, for the cursor of a new listener. */
  prefix: IdPrefix;
  /** Items with an id after `cursor`, oldest first. */
  after(cursor: string, limit: number): Promise<FeedEntry<T>[]>;
  /** Calls `wake` when a new item may have been stored; returns how to stop. */
  subscribe(wake: () => void): () => void;
  /** Looked for this often without a wake-up (another process stored it; a late commit). */
  pollMs: number;
}

export interface FeedEntry<T> {
  id: string;
  bytes: number;
  value: T;
}

export interface ListenerState {
  name: string;
  /** The source or endpoint id. */
  scope: string;
  /** The newest item acknowledged; a new listener starts at the time it first connected. */
  cursor: string;
  /** Where the listener started: nothing stored before its first connection is sent. */
  start: string;
  /** Items acknowledged within LATE_COMMIT_MS before the cursor (sent again otherwise). */
  recent: string[];
  createdAt: number;
  updatedAt: number;
  acknowledged: number;
}

/** What a feed hands its stream: an item, or the mark that the backlog has been sent. */
export type FeedItem<T> =
  { kind: "item"; id: string; value: T } | { kind: "caught-up"; replayed: number };

export class Listeners {
  readonly #store: Pick<Store, "getSetting" | "setSetting">;
  readonly #clock: Clock;
  /** Open feeds by listener key: an acknowledgement lets them send more. */
  readonly #feeds = new Map<string, Set<ListenerFeed<unknown>>>();
  /** One state write at a time per listener: acknowledgements read, change and write it. */
  readonly #writes = new Map<string, Promise<unknown>>();

  constructor(deps: { store: Pick<Store, "getSetting" | "setSetting">; clock: Clock }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
  }

  async state(scope: string, name: string): Promise<ListenerState | null> {
    checkName(name);
    const text = await this.#store.getSetting(settingKey(scope, name));
    return text === null ? null : (JSON.parse(text) as ListenerState | null);
  }

  /**
   * Opens a feed for the listener, made at its first connection with a cursor at that moment
   * (and stored at once: a listener killed before its first acknowledgement still resumes there).
   */
  async open<T>(source: FeedSource<T>, name: string): Promise<ListenerFeed<T>> {
    const { scope } = source;
    const state = await this.#update(scope, name, (current) => {
      if (current !== null) return current;
      const now = this.#clock.now();
      const start = idFloor(source.prefix, now);
      return {
        name,
        scope,
        cursor: start,
        start,
        recent: [],
        createdAt: now,
        updatedAt: now,
        acknowledged: 0,
      };
    });
    const key = settingKey(scope, name);
    const feed: ListenerFeed<T> = new ListenerFeed({
      state,
      source,
      clock: this.#clock,
      reread: () => this.state(scope, name),
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
  async acknowledge(scope: string, name: string, id: string): Promise<ListenerState> {
    const state = await this.#update(scope, name, (current) => {
      if (current === null) return null;
      return { ...withAcknowledged(current, id), updatedAt: this.#clock.now() };
    });
    if (state === null) throw new NotFoundError(`No listener "${name}" here`);
    for (const feed of this.#feeds.get(settingKey(scope, name)) ?? []) feed.acknowledged(state);
    return state;
  }

  /** Forgets the listener: its next connection starts from that moment. */
  async forget(scope: string, name: string): Promise<boolean> {
    const existed = (await this.state(scope, name)) !== null;
    // Settings have no delete; "null" reads as no listener.
    if (existed) await this.#store.setSetting(settingKey(scope, name), "null");
    return existed;
  }

  async #update<S extends ListenerState | null>(
    scope: string,
    name: string,
    change: (current: ListenerState | null) => S,
  ): Promise<S> {
    checkName(name);
    const key = settingKey(scope, name);
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
 * One connection's view of a listener: items after the cursor, at most a window of them
 * unacknowledged, then new ones as they are stored or found by the poll.
 */
export class ListenerFeed<T> {
  readonly #source: FeedSource<T>;
  readonly #clock: Clock;
  readonly #reread: () => Promise<ListenerState | null>;
  readonly #closed: () => void;
  readonly #unsubscribe: () => void;
  readonly #start: string;
  /** The newest id sent on this connection (or acknowledged before it). */
  #sentUpTo: string;
  /** Ids sent or acknowledged within LATE_COMMIT_MS before `#sentUpTo`. */
  readonly #seen = new Set<string>();
  /** Sent and not yet acknowledged, in the order sent, with their sizes. */
  #inFlight: { id: string; bytes: number }[] = [];
  #ready: FeedEntry<T>[] = [];
  #replayed = 0;
  #caughtUp = false;
  #isClosed = false;
  #wake: (() => void) | null = null;
  /** A wake-up that came while nobody slept (during a read): the next sleep returns at once. */
  #woken = false;
  #timer: Timer | null = null;
  #lastPoll = Number.NEGATIVE_INFINITY;

  constructor(deps: {
    state: ListenerState;
    source: FeedSource<T>;
    clock: Clock;
    reread: () => Promise<ListenerState | null>;
    closed: () => void;
  }) {
    this.#source = deps.source;
    this.#clock = deps.clock;
    this.#reread = deps.reread;
    this.#closed = deps.closed;
    this.#sentUpTo = deps.state.cursor;
    this.#start = deps.state.start;
    for (const id of deps.state.recent) this.#seen.add(id);
    this.#unsubscribe = deps.source.subscribe(() => this.#signal());
  }

  /** The next item to send; resolves once there is one (or null once closed). */
  async next(): Promise<FeedItem<T> | null> {
    for (;;) {
      if (this.#isClosed) return null;
      const ready = this.#ready.shift();
      if (ready !== undefined) {
        this.#inFlight.push({ id: ready.id, bytes: ready.bytes });
        if (!this.#caughtUp) this.#replayed++;
        return { kind: "item", id: ready.id, value: ready.value };
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
    this.#unsubscribe();
    this.#timer?.cancel();
    this.#ready = [];
    this.#closed();
    this.#signal();
  }

  #windowOpen(): boolean {
    if (this.#inFlight.length === 0) return true;
    const bytes = this.#inFlight.reduce((sum, r) => sum + r.bytes, 0);
    return this.#inFlight.length < WINDOW_ITEMS && bytes < WINDOW_BYTES;
  }

  /** Reads what is due into `#ready`; true if it found any. */
  async #find(): Promise<boolean> {
    const room = WINDOW_ITEMS - this.#inFlight.length;
    const now = this.#clock.now();
    const polling = now - this.#lastPoll >= this.#source.pollMs;
    const late = polling ? await this.#lateCommits() : [];
    if (polling) this.#lastPoll = now;
    const page = await this.#source.after(this.#sentUpTo, Math.min(PAGE, Math.max(1, room)));
    const found = [...late, ...page.filter((entry) => !this.#seen.has(entry.id))];
    for (const entry of found) this.#remember(entry.id);
    this.#ready.push(...found);
    return found.length > 0;
  }

  /**
   * Items committed after a later one was read: ids shortly before `#sentUpTo` that this
   * listener has not seen. Looked for once a poll interval, and first at connection time.
   */
  async #lateCommits(): Promise<FeedEntry<T>[]> {
    const state = await this.#reread();
    if (state !== null) this.acknowledged(state);
    const floor = idFloor(this.#source.prefix, idTime(this.#sentUpTo) - LATE_COMMIT_MS);
    const from = floor > this.#start ? floor : this.#start;
    const span = await this.#source.after(from, MAX_REMEMBERED);
    return span.filter((entry) => entry.id < this.#sentUpTo && !this.#seen.has(entry.id));
  }

  #remember(id: string): void {
    this.#seen.add(id);
    if (id > this.#sentUpTo) this.#sentUpTo = id;
    if (this.#seen.size <= MAX_REMEMBERED) return;
    const floor = idFloor(this.#source.prefix, idTime(this.#sentUpTo) - LATE_COMMIT_MS);
    for (const seen of this.#seen) if (seen < floor) this.#seen.delete(seen);
  }

  #sleep(): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = this.#clock.setTimer(this.#source.pollMs, () => this.#signal());
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
function withAcknowledged(state: ListenerState, id: string): ListenerState {
  const cursor = id > state.cursor ? id : state.cursor;
  const prefix = cursor.slice(0, cursor.indexOf("_")) as IdPrefix;
  const floor = idFloor(prefix, idTime(cursor) - LATE_COMMIT_MS);
  const recent = [...new Set([...state.recent, id])]
    .filter((r) => r >= floor && r <= cursor)
    .slice(-MAX_REMEMBERED);
  return { ...state, cursor, recent, acknowledged: state.acknowledged + 1 };
}

function settingKey(scope: string, name: string): string {
  return `listener:${scope}:${name}`;
}

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw ValidationError.field(
      ["path", "name"],
      `Listener name "${name.slice(0, 40)}" must be 1 to 128 letters, digits or . _ : @ - (starting with a letter or digit)`,
    );
  }
}
