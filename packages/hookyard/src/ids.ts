import { randomBytes } from "node:crypto";

/**
 * Svix-style prefixed ids (`app_…`, `ep_…`, `msg_…`, `atmpt_…`). The body is 27 base62 characters
 * whose first 9 encode the creation time in ms, so ids sort by creation time as plain strings
 * (ASCII order of 0-9A-Za-z), which is what cursor pagination relies on.
 */
export type IdPrefix = "app" | "ep" | "msg" | "atmpt" | "dlv" | "et" | "rtsk";

export interface IdGenerator {
  next<P extends IdPrefix>(prefix: P): `${P}_${string}`;
}

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const TIME_CHARS = 9; // 62^9 ms ≈ 428,000 years
const RANDOM_CHARS = 18; // 18 × log2(62) ≈ 107 random bits
/** Random bytes drawn per crypto call: one call serves this many ids. */
const POOL_IDS = 256;

function encodeTime(ms: number): string {
  let out = "";
  let rest = Math.floor(ms);
  for (let i = 0; i < TIME_CHARS; i++) {
    out = ALPHABET[rest % 62]! + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

export class TimeSortableIds implements IdGenerator {
  readonly #now: () => number;
  #pool = Buffer.alloc(0);
  #offset = 0;

  constructor(deps: { now: () => number }) {
    this.#now = deps.now;
  }

  next<P extends IdPrefix>(prefix: P): `${P}_${string}` {
    return `${prefix}_${encodeTime(this.#now())}${this.#randomPart()}`;
  }

  #randomPart(): string {
    if (this.#offset + RANDOM_CHARS > this.#pool.length) {
      this.#pool = randomBytes(RANDOM_CHARS * POOL_IDS);
      this.#offset = 0;
    }
    let out = "";
    // Rejection-free mapping: 248 = 4 × 62, so bytes ≥ 248 are folded with a tiny bias (8 of 256
    // values), harmless for uniqueness; ids are identifiers, not secrets.
    for (let i = 0; i < RANDOM_CHARS; i++) out += ALPHABET[this.#pool[this.#offset + i]! % 62]!;
    this.#offset += RANDOM_CHARS;
    return out;
  }
}
