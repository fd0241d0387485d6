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
 * acknowledged in that span are remembered so none is sent twice. One that commits later still
 * (a store stalled for longer, clocks of a cluster further apart) is not sent.
 */

/** How long before the newest id an item may still commit and be seen (then, out of order). */
export const LATE_COMMIT_MS = 10_000;
/** Items sent to a listener and not yet acknowledged: what its client may buffer. */
export const WINDOW_ITEMS = 100;
/** No item is sent while this much is unacknowledged (one large item may pass it). */
export const WINDOW_BYTES = 8 * 1024 * 1024;
const PAGE = 100;
/** Ids looked at again per poll for late commits, and remembered as acknowledged. */
const MAX_REMEMBERED = 1_000;
/** What `hookyard listen --name` accepts, checked on both sides. */
export const LISTENER_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const ID_BODY = /^[0-9A-Za-z]{27}$/;

/** What a listener follows: stored items in id order, and a signal when new ones may be there. */
export interface FeedSource<T> {
  /** The feed's key (a source or endpoint id): listeners are named within it. */
  scope: string;
  /** The prefix of the items' ids. */
  prefix: IdPrefix;
  /** Ids of items after `cursor` that are due, oldest first (no bodies: cheap to page). */
  idsAfter(cursor: string, limit: number): Promise<string[]>;
  /** The item to send, read when it is sent; null if it is gone or no longer to be sent. */
  load(id: string): Promise<FeedEntry<T> | null>;
  /** Whether `id` is an item of this feed (what an acknowledgement may name). */
  has(id: string): Promise<boolean>;
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

/**
 * What a feed hands its stream: an item; the mark that the backlog has been sent; or the end,
 * because another connection took the listener's name over.
 */
export type FeedItem<T> =
  | { kind: "item"; id: string; value: T }
  | { kind: "caught-up"; replayed: number }
  | { kind: "replaced" };

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
   * A connection of this process already open under the name ends: one stream per name, so a
   * listener that reconnects (a laptop back from sleep) is not forwarding everything twice.
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
    for (const older of this.#feeds.get(key) ?? []) older.replace();
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

  /**
   * Records that the listener's app has answered `id`.
   * @throws ValidationError for an id that is not one of the feed's kind, NotFoundError for one
   *   that is not in the feed, or a listener that does not exist.
   */
  async acknowledge<T>(source: FeedSource<T>, name: string, id: string): Promise<ListenerState> {
    const [prefix, body] = [id.slice(0, id.indexOf("_")), id.slice(id.indexOf("_") + 1)];
    if (prefix !== source.prefix || !ID_BODY.test(body)) {
      throw ValidationError.field(
        ["body", "requestId"],
        `must be the id of one of this listener's items (${source.prefix}_…)`,
      );
    }
    if (!(await source.has(id))) {
      throw new NotFoundError(`${id} is not one of this listener's items`);
    }
    const state = await this.#update(source.scope, name, (current) => {
      if (current === null) return null;
      return { ...withAcknowledged(current, id), updatedAt: this.#clock.now() };
    });
    if (state === null) throw new NotFoundError(`No listener "${name}" here`);
    for (const feed of this.#feeds.get(settingKey(source.scope, name)) ?? []) {
      feed.acknowledged(state);
    }
    return state;
  }

  /** Forgets the listener: its next connection starts from that moment. */
  async forget(scope: string, name: string): Promise<boolean> {
    let existed = false;
    await this.#update(scope, name, (current) => {
      existed = current !== null;
      return FORGET;
    });
    return existed;
  }

  async #update<S extends ListenerState | null | typeof FORGET>(
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
      // Settings have no delete; "null" reads as no listener.
      if (changed === FORGET) {
        if (current !== null) await this.#store.setSetting(key, "null");
      } else if (changed !== null && changed !== current) {
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

const FORGET = Symbol("forget");

/**
 * One connection's view of a listener: items after the cursor, at most a window of them
 * unacknowledged, then new ones as they are stored or found by the poll. Ids are paged; each
 * item is read only when it is sent, so memory stays at the window whatever the backlog.
 */
export class ListenerFeed<T> {
  readonly #source: FeedSource<T>;
  readonly #clock: Clock;
  readonly #reread: () => Promise<ListenerState | null>;
  readonly #closed: () => void;
  readonly #unsubscribe: () => void;
  readonly #start: string;
  /** The newest id found on this connection (or acknowledged before it). */
  #foundUpTo: string;
  /** Ids found or acknowledged within LATE_COMMIT_MS before `#foundUpTo`. */
  readonly #seen = new Set<string>();
  /** Found and not yet sent, in order. */
  #pending: string[] = [];
  /** Sent and not yet acknowledged, in the order sent, with their sizes. */
  #inFlight: { id: string; bytes: number }[] = [];
  #replayed = 0;
  #caughtUp = false;
  #isClosed = false;
  #replaced = false;
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
    this.#foundUpTo = deps.state.cursor;
    this.#start = deps.state.start;
    for (const id of deps.state.recent) this.#seen.add(id);
    this.#unsubscribe = deps.source.subscribe(() => this.#signal());
  }

  /** The next item to send; resolves once there is one (or null once closed). */
  async next(): Promise<FeedItem<T> | null> {
    for (;;) {
      if (this.#replaced) {
        this.close();
        return { kind: "replaced" };
      }
      if (this.#isClosed) return null;
      if (!this.#windowOpen()) {
        // Acknowledgements may go to another process of a cluster: read them on the poll too.
        if (this.#pollDue()) await this.#refresh();
        if (!this.#windowOpen()) {
          await this.#sleep();
          continue;
        }
      }
      const id = this.#pending.shift();
      if (id !== undefined) {
        const entry = await this.#source.load(id);
        if (entry === null) continue;
        this.#inFlight.push({ id: entry.id, bytes: entry.bytes });
        if (!this.#caughtUp) this.#replayed++;
        return { kind: "item", id: entry.id, value: entry.value };
      }
      if (await this.#find()) continue;
      if (this.#isClosed) return null;
      if (!this.#caughtUp) {
        this.#caughtUp = true;
        return { kind: "caught-up", replayed: this.#replayed };
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

  /** Another connection took the name: this one ends (with a `replaced` item). */
  replace(): void {
    this.#replaced = true;
    this.#signal();
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#unsubscribe();
    this.#timer?.cancel();
    this.#pending = [];
    this.#closed();
    this.#signal();
  }

  #windowOpen(): boolean {
    if (this.#inFlight.length === 0) return true;
    const bytes = this.#inFlight.reduce((sum, r) => sum + r.bytes, 0);
    return this.#inFlight.length < WINDOW_ITEMS && bytes < WINDOW_BYTES;
  }

  #pollDue(): boolean {
    return this.#clock.now() - this.#lastPoll >= this.#source.pollMs;
  }

  /** Acknowledgements made through other processes, and items committed out of order. */
  async #refresh(): Promise<string[]> {
    this.#lastPoll = this.#clock.now();
    const state = await this.#reread();
    if (state !== null) this.acknowledged(state);
    const floor = idFloor(this.#source.prefix, idTime(this.#foundUpTo) - LATE_COMMIT_MS);
    const from = floor > this.#start ? floor : this.#start;
    const span = await this.#source.idsAfter(from, MAX_REMEMBERED);
    return span.filter((id) => id < this.#foundUpTo && !this.#seen.has(id));
  }

  /** Pages ids of what is due into `#pending`; true if it found any. */
  async #find(): Promise<boolean> {
    const late = this.#pollDue() ? await this.#refresh() : [];
    const page = await this.#source.idsAfter(this.#foundUpTo, PAGE);
    const found = [...late, ...page.filter((id) => !this.#seen.has(id))];
    // The page moves the cursor on even when all of it was seen (acknowledged by a connection
    // that came before this one), or the next page would be the same.
    for (const id of [...late, ...page]) this.#remember(id);
    this.#pending.push(...found);
    return found.length > 0;
  }

  #remember(id: string): void {
    this.#seen.add(id);
    if (id > this.#foundUpTo) this.#foundUpTo = id;
    if (this.#seen.size <= MAX_REMEMBERED) return;
    const floor = idFloor(this.#source.prefix, idTime(this.#foundUpTo) - LATE_COMMIT_MS);
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
  const again = id <= state.cursor && (state.recent.includes(id) || id < recentFloor(state.cursor));
  const cursor = id > state.cursor ? id : state.cursor;
  const floor = recentFloor(cursor);
  const recent = [...new Set([...state.recent, id])]
    .filter((r) => r >= floor && r <= cursor)
    .slice(-MAX_REMEMBERED);
  return { ...state, cursor, recent, acknowledged: state.acknowledged + (again ? 0 : 1) };
}

function recentFloor(cursor: string): string {
  const prefix = cursor.slice(0, cursor.indexOf("_")) as IdPrefix;
  return idFloor(prefix, idTime(cursor) - LATE_COMMIT_MS);
}

function settingKey(scope: string, name: string): string {
  return `listener:${scope}:${name}`;
}

function checkName(name: string): void {
  if (!LISTENER_NAME.test(name)) {
    throw ValidationError.field(
      ["path", "name"],
      `Listener name "${name.slice(0, 40)}" must be 1 to 128 letters, digits or . _ : @ - (starting with a letter or digit)`,
    );
  }
}
