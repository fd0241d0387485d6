import { randomBytes } from "node:crypto";

/**
 * Svix-style prefixed ids (`app_…`, `ep_…`, `msg_…`, `atmpt_…`). The body is 27 base62 characters
 * whose first 9 encode the creation time in ms, so ids sort by creation time as plain strings
 * (ASCII order of 0-9A-Za-z), which is what cursor pagination relies on.
 */
export type IdPrefix =
  | "app"
  | "ep"
  | "msg"
  | "atmpt"
  | "dlv"
  | "et"
  | "qtask"
  | "src"
  | "req"
  | "rrun"
  | "key"
  | "audit";

export interface IdGenerator {
  next<P extends IdPrefix>(prefix: P): `${P}_${string}`;
}

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const TIME_CHARS = 9; // 62^9 ms ≈ 428,000 years
const RANDOM_CHARS = 18; // 18 × log2(62) ≈ 107 random bits
const ID_CHARS = TIME_CHARS + RANDOM_CHARS;
/** Random bytes drawn per crypto call: one call serves this many ids. */
const POOL_IDS = 256;
/**
 * Character code of each random byte value: `ALPHABET[byte % 62]`. Rejection-free mapping:
 * 248 = 4 × 62, so bytes ≥ 248 are folded with a tiny bias (8 of 256 values), harmless for
 * uniqueness; ids are identifiers, not secrets.
 */
const RANDOM_CHAR_CODES = Uint8Array.from({ length: 256 }, (_, byte) =>
  ALPHABET.charCodeAt(byte % 62),
);

export class TimeSortableIds implements IdGenerator {
  readonly #now: () => number;
  #pool = Buffer.alloc(0);
  #offset = 0;
  /**
   * The id body is written as character codes into this scratch buffer and read out as one
   * latin1 string: building it a character at a time left ~18 intermediate strings per id.
   */
  readonly #body = Buffer.alloc(ID_CHARS);
  /** The ms whose time characters `#body` holds (ids of one ms share them). */
  #bodyMs = -1;

  constructor(deps: { now: () => number }) {
    this.#now = deps.now;
  }

  next<P extends IdPrefix>(prefix: P): `${P}_${string}` {
    const body = this.#body;
    // A clock stepped back keeps the last millisecond: ids stay in the order they were made.
    const ms = Math.max(Math.floor(this.#now()), this.#bodyMs);
    if (ms !== this.#bodyMs) {
      this.#bodyMs = ms;
      let rest = ms;
      for (let i = TIME_CHARS - 1; i >= 0; i--) {
        body[i] = ALPHABET.charCodeAt(rest % 62);
        rest = Math.floor(rest / 62);
      }
    } else if (incrementRandomChars(body)) {
      // Monotonic within a millisecond: the ids of one process sort in the order they were made,
      // which is the order a listener replays received requests in (issue 14).
      return `${prefix}_${body.toString("latin1", 0, ID_CHARS)}`;
    }
    if (this.#offset + RANDOM_CHARS > this.#pool.length) {
      this.#pool = randomBytes(RANDOM_CHARS * POOL_IDS);
      this.#offset = 0;
    }
    const pool = this.#pool;
    const offset = this.#offset;
    for (let i = 0; i < RANDOM_CHARS; i++)
      body[TIME_CHARS + i] = RANDOM_CHAR_CODES[pool[offset + i]!]!;
    this.#offset += RANDOM_CHARS;
    return `${prefix}_${body.toString("latin1", 0, ID_CHARS)}`;
  }
}

/** Adds one to the random characters of `body` (base 62); false if they were all the largest. */
function incrementRandomChars(body: Buffer): boolean {
  for (let i = ID_CHARS - 1; i >= TIME_CHARS; i--) {
    const digit = ALPHABET.indexOf(String.fromCharCode(body[i]!));
    if (digit < 61) {
      body[i] = ALPHABET.charCodeAt(digit + 1);
      return true;
    }
    body[i] = ALPHABET.charCodeAt(0);
  }
  return false;
}

/** The creation time (epoch ms) of an id made by TimeSortableIds (or idFloor). */
export function idTime(id: string): number {
  const body = id.slice(id.indexOf("_") + 1);
  let ms = 0;
  for (let i = 0; i < TIME_CHARS; i++) ms = ms * 62 + ALPHABET.indexOf(body[i] ?? "0");
  return ms;
}

/**
 * The smallest id with `prefix` created at `ms`: every id created earlier sorts below it, so
 * `id < idFloor(prefix, ms)` selects by creation time through the primary key (retention).
 */
export function idFloor<P extends IdPrefix>(prefix: P, ms: number): `${P}_${string}` {
  let rest = Math.max(0, Math.floor(ms));
  let time = "";
  for (let i = 0; i < TIME_CHARS; i++) {
    time = ALPHABET[rest % 62]! + time;
    rest = Math.floor(rest / 62);
  }
  return `${prefix}_${time}${"0".repeat(RANDOM_CHARS)}`;
}
