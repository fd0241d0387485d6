import type { Attempt, AttemptTrigger, Delivery, Message } from "../model.js";

/**
 * The engine's view of tracing (issue 16; the consumer owns the seam, observability/tracing.ts
 * implements it). The engine has none while tracing is off: then no span is made and no
 * `traceparent` is sent.
 */
export interface AttemptTracer {
  /**
   * Starts the span of one attempt as a child of the span the message was published (or
   * received) under, from its stored `traceparent`; a root span when it has none.
   */
  startAttempt(req: {
    message: Message;
    delivery: Delivery;
    /** 1 for the first attempt. */
    attempt: number;
    trigger: AttemptTrigger;
    /** The clock's epoch ms when the request is about to be sent. */
    startedAt: number;
  }): AttemptSpan;
}

export interface AttemptSpan {
  /** W3C `traceparent` naming this span: the attempt's request carries it. */
  readonly traceparent: string;
  /** Ends the span with what the attempt recorded; `durationMs` as the sender measured it. */
  end(attempt: Attempt, durationMs: number): void;
}
