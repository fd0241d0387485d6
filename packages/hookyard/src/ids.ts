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
const RANDOM_CHARS = 18;

function encodeBase62(value: bigint, width: number): string {
  let out = "";
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = ALPHABET[Number(rest % 62n)]! + out;
    rest /= 62n;
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
    return `${prefix}_${encodeBase62(BigInt(this.#now()), TIME_CHARS)}${this.#randomPart()}`;
  }

  #randomPart(): string {
    // Draw random bytes in blocks: one crypto call per 256 ids keeps id generation off the profile.
    if (this.#offset + 14 > this.#pool.length) {
      this.#pool = randomBytes(14 * 256);
      this.#offset = 0;
    }
    const chunk = this.#pool.subarray(this.#offset, this.#offset + 14);
    this.#offset += 14;
    return encodeBase62(BigInt(`0x${chunk.toString("hex")}`), RANDOM_CHARS).slice(-RANDOM_CHARS);
  }
}
