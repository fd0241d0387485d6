import type { Clock, Timer } from "../clock.js";

/**
 * A min-heap of items due at a time, driven by one clock timer armed for the earliest item.
 * Retries scheduled by this process wait here instead of being polled for in the database.
 */
export class TimerQueue<T> {
  readonly #clock: Clock;
  readonly #onDue: (items: T[]) => void;
  #heap: { dueAt: number; item: T }[] = [];
  #timer: Timer | null = null;
  #armedFor = Infinity;
  #closed = false;

  constructor(deps: { clock: Clock; onDue: (items: T[]) => void }) {
    this.#clock = deps.clock;
    this.#onDue = deps.onDue;
  }

  get size(): number {
    return this.#heap.length;
  }

  add(dueAt: number, item: T): void {
    if (this.#closed) return;
    const heap = this.#heap;
    heap.push({ dueAt, item });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.dueAt <= heap[i]!.dueAt) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
    this.#arm();
  }

  /** Removes the first item for which `match` is true; returns it or undefined. */
  remove(match: (item: T) => boolean): T | undefined {
    const index = this.#heap.findIndex((e) => match(e.item));
    if (index < 0) return undefined;
    const [entry] = this.#heap.splice(index, 1);
    this.#heapify();
    this.#arm();
    return entry?.item;
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
    this.#heap = [];
  }

  #fire(): void {
    this.#timer = null;
    this.#armedFor = Infinity;
    const now = this.#clock.now();
    const due: T[] = [];
    while (this.#heap.length > 0 && this.#heap[0]!.dueAt <= now) due.push(this.#pop());
    if (due.length > 0) this.#onDue(due);
    this.#arm();
  }

  #arm(): void {
    const first = this.#heap[0];
    if (this.#closed || first === undefined || first.dueAt >= this.#armedFor) return;
    this.#timer?.cancel();
    this.#armedFor = first.dueAt;
    this.#timer = this.#clock.setTimer(first.dueAt - this.#clock.now(), () => this.#fire());
  }

  #pop(): T {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#siftDown(0);
    }
    return top.item;
  }

  #siftDown(start: number): void {
    const heap = this.#heap;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && heap[left]!.dueAt < heap[smallest]!.dueAt) smallest = left;
      if (right < heap.length && heap[right]!.dueAt < heap[smallest]!.dueAt) smallest = right;
      if (smallest === i) return;
      [heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!];
      i = smallest;
    }
  }

  #heapify(): void {
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
    if (this.#heap.length === 0) {
      this.#timer?.cancel();
      this.#timer = null;
      this.#armedFor = Infinity;
    }
  }
}
