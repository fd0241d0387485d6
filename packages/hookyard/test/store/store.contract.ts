import { inboundEvent } from "../../src/rules/events.js";
import { describe, expect, it } from "vitest";
import { ConflictError } from "../../src/errors.js";
import { TimeSortableIds } from "../../src/ids.js";
import type {
  Application,
  Attempt,
  BackgroundTask,
  Delivery,
  DeliveryId,
  DeliveryStatus,
  Endpoint,
  Message,
  RuleEvent,
  RuleRun,
} from "../../src/model.js";
import type { Page, Store } from "../../src/store/store.js";
import { Seed, seedAppWithEndpoint, seedDelivery } from "../helpers/seed.js";

/**
 * The behaviour every `Store` adapter must show, tested through the interface only. Each adapter's
 * test file runs it: `describeStoreContract("sqlite", openTempSqliteStore)`. `openStore` returns a
 * fresh, empty store and registers its own cleanup (onTestFinished).
 *
 * One suite on purpose (STYLE 3 "contract tests"), so it runs past the usual file size.
 */
/** A scheduled delivery time far after every seeded object. */
const SCHEDULED = Date.UTC(2025, 6, 1);

export function describeStoreContract(adapter: string, openStore: () => Promise<Store>): void {
  const ids = <T extends { id: string }>(page: Page<T> | T[]): string[] =>
    (Array.isArray(page) ? page : page.data).map((x) => x.id);

  /** A store with one application and one endpoint. */
  async function world(): Promise<{ store: Store; seed: Seed; app: Application; ep: Endpoint }> {
    const store = await openStore();
    const seed = new Seed();
    const { app, endpoint } = await seedAppWithEndpoint(store, seed);
    return { store, seed, app, ep: endpoint };
  }

  /** Stores a message with one delivery per endpoint, each with `delivery` overrides. */
  async function publish(
    store: Store,
    seed: Seed,
    app: Application,
    endpoints: Endpoint[],
    opts: { message?: Partial<Message>; delivery?: Partial<Delivery> } = {},
  ): Promise<{ message: Message; deliveries: Delivery[] }> {
    const message = seed.message(app, opts.message);
    const deliveries = endpoints.map((ep) => seed.delivery(message, ep, opts.delivery));
    await store.createMessage({ message, deliveries, eventIdSince: 0 });
    return { message, deliveries };
  }

  describe(`${adapter} store: settings`, () => {
    it("returns null for an unknown setting and the last value written", async () => {
      const store = await openStore();
      expect(await store.getSetting("api_key_hash")).toBeNull();
      await store.setSetting("api_key_hash", "h1");
      await store.setSetting("api_key_hash", "h2");
      expect(await store.getSetting("api_key_hash")).toBe("h2");
    });
  });

  describe(`${adapter} store: inbound sources`, () => {
    it("finds a source by id, by uid and by a token that has not expired", async () => {
      const store = await openStore();
      const source = new Seed().source({
        uid: "gh-main",
        metadata: { team: "ops" },
        config: { secret: "s3cret", nested: { a: [1, 2] } },
        tokens: [
          { token: "tok_current", expiresAt: null },
          { token: "tok_rotated", expiresAt: 50_000 },
        ],
      });
      await store.insertSource(source);
      expect(await store.getSource(source.id)).toEqual(source);
      expect(await store.getSource("gh-main")).toEqual(source);
      expect(await store.getSource("src_missing")).toBeNull();
      expect(await store.getSourceByToken("tok_current", 10_000)).toEqual(source);
      expect(await store.getSourceByToken("tok_rotated", 49_999)).toEqual(source);
      expect(await store.getSourceByToken("tok_rotated", 50_000), "expired").toBeNull();
      expect(await store.getSourceByToken("tok_unknown", 0)).toBeNull();
    });

    it("refuses a taken uid or token, replaces a source with its tokens, and deletes it", async () => {
      const store = await openStore();
      const seed = new Seed();
      const source = seed.source({ uid: "stripe" });
      await store.insertSource(source);
      await expect(store.insertSource(seed.source({ uid: "stripe" }))).rejects.toThrow(
        ConflictError,
      );
      await expect(store.insertSource(seed.source({ tokens: source.tokens }))).rejects.toThrow(
        ConflictError,
      );
      const rotated = {
        ...source,
        name: "renamed",
        type: "stripe",
        tokens: [
          { token: "tok_new", expiresAt: null },
          { ...source.tokens[0]!, expiresAt: 172_800_000 },
        ],
        updatedAt: source.updatedAt + 1,
      };
      await store.updateSource(rotated);
      expect(await store.getSource(source.id)).toEqual(rotated);
      expect((await store.getSourceByToken("tok_new", 0))?.id).toBe(source.id);
      await store.deleteSource(source.id);
      expect(await store.getSource(source.id)).toBeNull();
      expect(await store.getSourceByToken("tok_new", 0)).toBeNull();
    });

    it("lists sources oldest first, a page at a time", async () => {
      const store = await openStore();
      const seed = new Seed();
      const all = [seed.source(), seed.source(), seed.source()];
      for (const source of all) await store.insertSource(source);
      const first = await store.listSources({ limit: 2, iterator: null });
      const second = await store.listSources({ limit: 2, iterator: first.iterator });
      expect([...first.data, ...second.data]).toEqual(all);
      expect(second.done).toBe(true);
    });
  });

  describe(`${adapter} store: received requests`, () => {
    it("keeps a request byte-exact and drops a repeated delivery id within the window only", async () => {
      const store = await openStore();
      const seed = new Seed();
      const source = seed.source();
      await store.insertSource(source);
      const body = Buffer.from([0x00, 0xff, 0xfe, 0x7b]); // not UTF-8
      const first = seed.inboundRequest(source, { body, dedupKey: "d-1" });
      expect(await store.insertInboundRequest(first, 0)).toEqual(first);
      expect(await store.getInboundRequest(source.id, first.id)).toEqual(first);

      const again = seed.inboundRequest(source, { dedupKey: "d-1" });
      expect(await store.insertInboundRequest(again, first.createdAt)).toEqual({
        ...again,
        status: "duplicate",
        duplicateOf: first.id,
      });
      const later = seed.inboundRequest(source, { dedupKey: "d-1" });
      expect(
        await store.insertInboundRequest(later, first.createdAt + 1),
        "the first one is older than the window",
      ).toEqual(later);
      const rejected = seed.inboundRequest(source, {
        status: "rejected",
        reason: "signature does not match",
        dedupKey: "d-1",
      });
      expect((await store.insertInboundRequest(rejected, 0)).status).toBe("rejected");
      const elsewhere = seed.source();
      await store.insertSource(elsewhere);
      const otherSource = seed.inboundRequest(elsewhere, { dedupKey: "d-1" });
      expect((await store.insertInboundRequest(otherSource, 0)).status, "per source").toBe(
        "accepted",
      );
    });

    it("accepts one of two requests with one delivery id written at the same time", async () => {
      const store = await openStore();
      const seed = new Seed();
      const source = seed.source();
      await store.insertSource(source);
      const stored = await Promise.all(
        [1, 2, 3].map(() =>
          store.insertInboundRequest(seed.inboundRequest(source, { dedupKey: "same" }), 0),
        ),
      );
      expect(stored.map((r) => r.status).sort()).toEqual(["accepted", "duplicate", "duplicate"]);
    });

    it("drops a request repeating an accepted one's replay key within the window, whatever its delivery id", async () => {
      const store = await openStore();
      const seed = new Seed();
      const source = seed.source();
      await store.insertSource(source);
      const refused = seed.inboundRequest(source, {
        status: "rejected",
        reason: "signature does not match",
        replayKey: "r-1",
      });
      await store.insertInboundRequest(refused, 0);
      const first = seed.inboundRequest(source, { dedupKey: "d-1", replayKey: "r-1" });
      expect(await store.insertInboundRequest(first, 0), "a rejected one does not count").toEqual(
        first,
      );
      expect(await store.getInboundRequest(source.id, first.id)).toEqual(first);

      const fresh = seed.inboundRequest(source, { dedupKey: "d-2", replayKey: "r-1" });
      expect(
        await store.insertInboundRequest(fresh, first.createdAt),
        "a fresh delivery id",
      ).toEqual({ ...fresh, status: "duplicate", duplicateOf: first.id });
      const noId = seed.inboundRequest(source, { dedupKey: null, replayKey: "r-1" });
      expect((await store.insertInboundRequest(noId, 0)).duplicateOf, "no delivery id").toBe(
        first.id,
      );
      const crossed = seed.inboundRequest(source, { dedupKey: "r-1", replayKey: "d-1" });
      expect(
        (await store.insertInboundRequest(crossed, 0)).status,
        "a delivery id matches delivery ids only, a replay key replay keys only",
      ).toBe("accepted");
      const later = seed.inboundRequest(source, { dedupKey: "d-3", replayKey: "r-1" });
      expect(
        (await store.insertInboundRequest(later, first.createdAt + 1)).status,
        "the first one is older than the window; the crossed one has no such replay key",
      ).toBe("accepted");
      const off = seed.inboundRequest(source, { dedupKey: "d-1", replayKey: "r-1" });
      expect(
        (await store.insertInboundRequest(off, Number.MAX_SAFE_INTEGER)).status,
        "a window of 0",
      ).toBe("accepted");
      const both = seed.inboundRequest(source, { dedupKey: "d-3", replayKey: "r-1" });
      expect(
        (await store.insertInboundRequest(both, 0)).duplicateOf,
        "the first accepted request carrying either key",
      ).toBe(first.id);
    });

    it("accepts one of three requests with one replay key and fresh delivery ids written at the same time", async () => {
      const store = await openStore();
      const seed = new Seed();
      const source = seed.source();
      await store.insertSource(source);
      const stored = await Promise.all(
        ["d-1", "d-2", "d-3"].map((dedupKey) =>
          store.insertInboundRequest(
            seed.inboundRequest(source, { dedupKey, replayKey: "same" }),
            0,
          ),
        ),
      );
      expect(stored.map((r) => r.status).sort()).toEqual(["accepted", "duplicate", "duplicate"]);
    });

    it("keeps how long a truncated body was, and a source's newest rejected requests only", async () => {
      const store = await openStore();
      const seed = new Seed();
      const source = seed.source();
      await store.insertSource(source);
      const cut = seed.inboundRequest(source, {
        status: "rejected",
        reason: "signature does not match",
        body: Buffer.from('{"ref":'),
        bodyBytesReceived: 100_000,
      });
      await store.insertInboundRequest(cut, 0);
      expect(await store.getInboundRequest(source.id, cut.id)).toEqual(cut);

      const accepted = seed.inboundRequest(source);
      await store.insertInboundRequest(accepted, 0);
      const rejected = Array.from({ length: 4 }, () =>
        seed.inboundRequest(source, { status: "rejected", reason: "no" }),
      );
      for (const r of rejected) await store.insertInboundRequest(r, 0);
      const newer = seed.inboundRequest(source);
      await store.insertInboundRequest(newer, 0);
      expect(await store.trimInboundRequests(source.id, 3, "rejected")).toBe(2);
      const left = await store.listInboundRequests(source.id, {}, { limit: 10, iterator: null });
      expect(left.data.map((r) => r.id)).toEqual([
        newer.id,
        rejected[3]!.id,
        rejected[2]!.id,
        rejected[1]!.id,
        accepted.id,
      ]);
      expect(await store.trimInboundRequests(source.id, 3, "rejected"), "at the cap").toBe(0);
    });

    it("keeps a source's newest requests, and deletes one on demand", async () => {
      const store = await openStore();
      const seed = new Seed();
      const source = seed.source();
      await store.insertSource(source);
      const all = Array.from({ length: 5 }, () => seed.inboundRequest(source));
      for (const r of all) await store.insertInboundRequest(r, 0);
      expect(await store.trimInboundRequests(source.id, 10), "fewer than the cap").toBe(0);
      expect(await store.trimInboundRequests(source.id, 3)).toBe(2);
      const left = await store.listInboundRequests(source.id, {}, { limit: 10, iterator: null });
      expect(left.data.map((r) => r.id)).toEqual([all[4]!.id, all[3]!.id, all[2]!.id]);
      expect(await store.deleteInboundRequest(source.id, all[3]!.id)).toBe(true);
      expect(await store.deleteInboundRequest(source.id, all[3]!.id)).toBe(false);
      expect(await store.getInboundRequest(source.id, all[3]!.id)).toBeNull();
    });

    it("lists a source's requests newest first, by status, and forgets them with the source", async () => {
      const store = await openStore();
      const seed = new Seed();
      const source = seed.source();
      await store.insertSource(source);
      const a = seed.inboundRequest(source);
      const b = seed.inboundRequest(source, { status: "rejected", reason: "no" });
      const c = seed.inboundRequest(source);
      for (const r of [a, b, c]) await store.insertInboundRequest(r, 0);
      const page = await store.listInboundRequests(source.id, {}, { limit: 2, iterator: null });
      const rest = await store.listInboundRequests(
        source.id,
        {},
        { limit: 2, iterator: page.iterator },
      );
      expect([...page.data, ...rest.data].map((r) => r.id)).toEqual([c.id, b.id, a.id]);
      const rejected = await store.listInboundRequests(
        source.id,
        { status: "rejected" },
        { limit: 10, iterator: null },
      );
      expect(rejected.data).toEqual([b]);
      await store.deleteSource(source.id);
      expect(await store.getInboundRequest(source.id, a.id)).toBeNull();
    });

    it("lists the messages that forward one received request", async () => {
      const store = await openStore();
      const seed = new Seed();
      const app = seed.application();
      await store.insertApplication(app);
      const source = seed.source({ appId: app.id });
      await store.insertSource(source);
      const first = seed.inboundRequest(source);
      const other = seed.inboundRequest(source);
      const forward = seed.message(app.id, { inboundRequestId: first.id });
      await store.insertInboundRequest(first, 0, { message: forward, deliveries: [] });
      await store.insertInboundRequest(other, 0, {
        message: seed.message(app.id, { inboundRequestId: other.id }),
        deliveries: [],
      });
      const replay = seed.message(app.id, { inboundRequestId: first.id });
      await store.createMessage({ message: replay, deliveries: [], eventIdSince: 0 });
      await store.createMessage({ message: seed.message(app.id), deliveries: [], eventIdSince: 0 });
      const page = await store.listMessages(
        app.id,
        { inboundRequestId: first.id },
        { limit: 10, iterator: null },
      );
      expect(page.data.map((m) => m.id)).toEqual([replay.id, forward.id]);
    });
  });

  describe(`${adapter} store: rule runs`, () => {
    it("stores three runs sharing one event, each read back with the full event", async () => {
      const store = await openStore();
      const runs = new Runs();
      const event = runs.event({ id: "req_shared" });
      const three = [runs.run(event, "a"), runs.run(event, "b"), runs.run(event, "c")];
      await store.insertRuleRuns(three);
      for (const run of three) expect(await store.getRuleRun(run.id)).toEqual(run);
      expect(await store.getRuleRun("rrun_missing")).toBeNull();

      // Stored once, by id: a later run of an event with that id reads the stored one.
      const later = runs.run({ ...event, payload: { other: true } }, "d");
      await store.insertRuleRuns([later]);
      expect(await store.getRuleRun(later.id)).toEqual({ ...later, event });
      await expect(store.insertRuleRuns([three[0]!])).rejects.toThrow(ConflictError);
    });

    it("stores an accepted request's runs with it, and none for a duplicate", async () => {
      const store = await openStore();
      const seed = new Seed();
      const source = seed.source();
      await store.insertSource(source);
      const runs = new Runs();
      const request = seed.inboundRequest(source, { dedupKey: "d-1" });
      // Their event is the request's (stored once, with the request): it reads back whole.
      const event = inboundEvent(request, source.uid ?? source.id);
      // Done while planned (set/log only): the event is kept in the request row alone.
      const done = { status: "succeeded" as const, owner: null, leaseUntil: null };
      const planned = [runs.run(event, "a", done), runs.run(event, "b", done)];
      await store.insertInboundRequest(request, 0, undefined, planned);
      for (const run of planned) expect(await store.getRuleRun(run.id)).toEqual(run);
      const listed = await store.listRuleRuns({}, { limit: 10, iterator: null });
      expect(listed.data.map((r) => r.event)).toEqual([event, event]);

      const again = seed.inboundRequest(source, { dedupKey: "d-1" });
      const dropped = runs.run(runs.event({ id: again.id }), "a");
      expect((await store.insertInboundRequest(again, 0, undefined, [dropped])).status).toBe(
        "duplicate",
      );
      expect(await store.getRuleRun(dropped.id)).toBeNull();

      // A run still to run keeps its whole event: it runs on it even if the request goes first.
      const later = seed.inboundRequest(source, { dedupKey: "d-2" });
      const laterEvent = inboundEvent(later, source.uid ?? source.id);
      const queued = runs.run(laterEvent, "slow");
      await store.insertInboundRequest(later, 0, undefined, [queued]);
      await store.deleteInboundRequest(source.id, later.id);
      expect((await store.getRuleRun(queued.id))?.event).toEqual(laterEvent);

      // A deleted request takes what it carried along; finished runs keep what they were about.
      await store.deleteInboundRequest(source.id, request.id);
      expect((await store.getRuleRun(planned[0]!.id))?.event).toEqual({
        ...event,
        payload: null,
        headers: {},
        body: "",
        query: {},
      });
    });

    it("keeps a run's event through its updates", async () => {
      const store = await openStore();
      const runs = new Runs();
      const event = runs.event();
      const queued = runs.run(event, "a");
      const other = runs.run(event, "b");
      await store.insertRuleRuns([queued, other]);
      const running: RuleRun = { ...queued, status: "running", startedAt: queued.createdAt + 5 };
      await store.updateRuleRun(running);
      expect(await store.getRuleRun(queued.id)).toEqual(running);
      const succeeded: RuleRun = {
        ...running,
        status: "succeeded",
        actions: [
          {
            index: 0,
            id: null,
            type: "log",
            status: "succeeded",
            output: { line: "done" },
            error: null,
            startedAt: running.createdAt + 6,
            durationMs: 1,
          },
        ],
        owner: null,
        leaseUntil: null,
        finishedAt: running.createdAt + 7,
      };
      await store.updateRuleRun(succeeded);
      expect(await store.getRuleRun(queued.id)).toEqual(succeeded);
      expect(await store.getRuleRun(other.id), "the other run of the event").toEqual(other);
    });

    it("lists runs newest first, by status and by rule, a page at a time", async () => {
      const store = await openStore();
      const runs = new Runs();
      const event = runs.event();
      const all = [
        runs.run(event, "a"),
        runs.run(event, "b", { status: "failed", error: "boom" }),
        runs.run(runs.event(), "a", { status: "failed", error: "boom" }),
        runs.run(event, "a"),
        runs.run(runs.event(), "b"),
      ];
      await store.insertRuleRuns(all);
      const [r0, r1, r2, r3, r4] = all as [RuleRun, RuleRun, RuleRun, RuleRun, RuleRun];
      const first = await store.listRuleRuns({}, { limit: 3, iterator: null });
      const rest = await store.listRuleRuns({}, { limit: 3, iterator: first.iterator });
      expect([...first.data, ...rest.data]).toEqual([r4, r3, r2, r1, r0]);
      expect(rest.done).toBe(true);
      const failed = await store.listRuleRuns({ status: "failed" }, { limit: 1, iterator: null });
      const failedRest = await store.listRuleRuns(
        { status: "failed" },
        { limit: 1, iterator: failed.iterator },
      );
      expect([...failed.data, ...failedRest.data]).toEqual([r2, r1]);
      expect(ids(await store.listRuleRuns({ rule: "a" }, { limit: 10, iterator: null }))).toEqual(
        ids([r3, r2, r0]),
      );
      expect(
        await store.listRuleRuns({ rule: "a", status: "queued" }, { limit: 10, iterator: null }),
      ).toMatchObject({ data: [r3, r0], done: true });
      expect(
        ids(
          await store.listRuleRuns(
            { status: "queued" },
            { limit: 10, iterator: null, order: "ascending" },
          ),
        ),
      ).toEqual(ids([r0, r3, r4]));
    });

    it("hands out runs whose lease expired, with their event", async () => {
      const store = await openStore();
      const runs = new Runs();
      const event = runs.event();
      const expired = runs.run(event, "a", { leaseUntil: 1_000 });
      const held = runs.run(event, "b", { leaseUntil: 5_000 });
      const done = runs.run(event, "c", { status: "succeeded", owner: null, leaseUntil: null });
      await store.insertRuleRuns([expired, held, done]);
      const taken = await store.takeExpiredRuleRuns({
        owner: "p2",
        now: 2_000,
        leaseUntil: 9_000,
        limit: 10,
      });
      expect(taken).toEqual([{ ...expired, owner: "p2", leaseUntil: 9_000 }]);
      expect(await store.getRuleRun(held.id)).toEqual(held);
    });
  });

  describe(`${adapter} store: applications`, () => {
    it("finds an application by id and by uid", async () => {
      const store = await openStore();
      const app = new Seed().application({ uid: "acme", metadata: { plan: "pro" }, rateLimit: 10 });
      await store.insertApplication(app);
      expect(await store.getApplication(app.id)).toEqual(app);
      expect(await store.getApplication("acme")).toEqual(app);
      expect(await store.getApplication("app_missing")).toBeNull();
    });

    it("refuses a second application with a taken uid", async () => {
      const store = await openStore();
      const seed = new Seed();
      await store.insertApplication(seed.application({ uid: "acme" }));
      await expect(store.insertApplication(seed.application({ uid: "acme" }))).rejects.toThrow(
        ConflictError,
      );
    });

    it("commits the good write and rejects only the conflicting one of the same batch", async () => {
      const store = await openStore();
      const seed = new Seed();
      await store.insertApplication(seed.application({ uid: "acme" }));
      const bad = seed.application({ uid: "acme" });
      const good = seed.application({ uid: "globex" });
      // Issued in the same event-loop turn: one group commit for both.
      const [badResult, goodResult] = await Promise.allSettled([
        store.insertApplication(bad),
        store.insertApplication(good),
      ]);
      expect(badResult.status).toBe("rejected");
      expect(badResult.status === "rejected" && badResult.reason).toBeInstanceOf(ConflictError);
      expect(goodResult.status, "the good write of the batch").toBe("fulfilled");
      expect(await store.getApplication("globex")).toEqual(good);
      expect(await store.getApplication(bad.id)).toBeNull();
    });

    it("lets the first of two same-batch writers of a uid win", async () => {
      const store = await openStore();
      const seed = new Seed();
      const first = seed.application({ uid: "acme" });
      const second = seed.application({ uid: "acme" });
      const results = await Promise.allSettled([
        store.insertApplication(first),
        store.insertApplication(second),
      ]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected"]);
      expect((await store.getApplication("acme"))?.id).toBe(first.id);
    });

    it("replaces an application's fields on update and refuses a taken uid", async () => {
      const store = await openStore();
      const seed = new Seed();
      const app = seed.application({ uid: "acme" });
      const other = seed.application({ uid: "globex" });
      await store.insertApplication(app);
      await store.insertApplication(other);
      const renamed = { ...app, uid: "acme-2", name: "Acme 2", metadata: { a: "b" }, updatedAt: 9 };
      await store.updateApplication(renamed);
      expect(await store.getApplication("acme-2")).toEqual(renamed);
      expect(await store.getApplication("acme")).toBeNull();
      await expect(store.updateApplication({ ...renamed, uid: "globex" })).rejects.toThrow(
        ConflictError,
      );
    });

    it("pages through applications oldest first with an iterator across three pages", async () => {
      const store = await openStore();
      const seed = new Seed();
      const apps = Array.from({ length: 5 }, () => seed.application());
      for (const app of apps) await store.insertApplication(app);
      const p1 = await store.listApplications({ limit: 2, iterator: null });
      const p2 = await store.listApplications({ limit: 2, iterator: p1.iterator });
      const p3 = await store.listApplications({ limit: 2, iterator: p2.iterator });
      expect([ids(p1), ids(p2), ids(p3)]).toEqual([
        [apps[0]!.id, apps[1]!.id],
        [apps[2]!.id, apps[3]!.id],
        [apps[4]!.id],
      ]);
      expect([p1.done, p2.done, p3.done]).toEqual([false, false, true]);
      expect([p1.iterator, p3.iterator]).toEqual([apps[1]!.id, apps[4]!.id]);
    });

    it("pages through applications newest first when asked for descending order", async () => {
      const store = await openStore();
      const seed = new Seed();
      const apps = Array.from({ length: 4 }, () => seed.application());
      for (const app of apps) await store.insertApplication(app);
      const page = { limit: 2, order: "descending" } as const;
      const p1 = await store.listApplications({ ...page, iterator: null });
      const p2 = await store.listApplications({ ...page, iterator: p1.iterator });
      expect([ids(p1), ids(p2)]).toEqual([
        [apps[3]!.id, apps[2]!.id],
        [apps[1]!.id, apps[0]!.id],
      ]);
      expect(p2.done, "a full last page is known to be the last").toBe(true);
    });

    it("lists only applications with endpoints, or without disabled ones, when asked", async () => {
      const { store, seed, app, ep } = await world();
      const bare = seed.application();
      const withDisabled = seed.application();
      for (const a of [bare, withDisabled]) await store.insertApplication(a);
      await store.insertEndpoint(seed.endpoint(withDisabled, { disabled: true }));
      const page = { limit: 10, iterator: null };
      expect(ids(await store.listApplications(page, { withEndpoints: true }))).toEqual([
        app.id,
        withDisabled.id,
      ]);
      expect(ids(await store.listApplications(page, { withoutDisabledEndpoints: true }))).toEqual([
        app.id,
        bare.id,
      ]);
      expect(ep.appId).toBe(app.id);
    });

    it("returns an empty done page with a null iterator when there is nothing", async () => {
      const store = await openStore();
      expect(await store.listApplications({ limit: 10, iterator: null })).toMatchObject({
        data: [],
        iterator: null,
        done: true,
      });
    });

    it("deletes an application with its endpoints and messages and cancels its open deliveries", async () => {
      const { store, seed, app, ep } = await world();
      await store.updateApplication({ ...app, uid: "acme" });
      const { message } = await publish(store, seed, app, [ep], {
        delivery: { leaseOwner: "w1", leaseUntil: 99_000 },
      });
      const done = await publish(store, seed, app, [ep], { delivery: { status: "succeeded" } });
      await store.deleteApplication(app.id);
      expect(await store.getApplication(app.id)).toBeNull();
      expect(await store.getEndpoint(app.id, ep.id)).toBeNull();
      expect(await store.getMessage(app.id, message.id)).toBeNull();
      expect(await store.getMessage(app.id, done.message.id)).toBeNull();
      const open = await store.getDelivery(message.id, ep.id);
      expect(open ?? { status: "deleted" }, "an open delivery ends cancelled").toMatchObject({
        status: "cancelled",
        nextAttemptAt: null,
        leaseOwner: null,
        leaseUntil: null,
      });
      expect(await store.nextDueAt()).toBeNull();
      await store.insertApplication(seed.application({ uid: "acme" })); // the uid is free again
    });
  });

  describe(`${adapter} store: event types`, () => {
    it("stores an event type with its schemas and refuses a duplicate name", async () => {
      const store = await openStore();
      const seed = new Seed();
      const et = seed.eventType({
        name: "invoice.paid",
        schemas: { "1": { type: "object" } },
        featureFlag: "beta",
        groupName: "invoice",
      });
      await store.insertEventType(et);
      expect(await store.getEventType("invoice.paid")).toEqual(et);
      expect(await store.getEventType("invoice.missing")).toBeNull();
      await expect(store.insertEventType(seed.eventType({ name: "invoice.paid" }))).rejects.toThrow(
        ConflictError,
      );
    });

    it("lists event types by name, leaving out archived ones unless asked", async () => {
      const store = await openStore();
      const seed = new Seed();
      for (const name of ["c.created", "a.created", "b.created"]) {
        await store.insertEventType(seed.eventType({ name, archived: name === "b.created" }));
      }
      const names = (p: Page<{ name: string }>): string[] => p.data.map((e) => e.name);
      const page = { limit: 10, iterator: null };
      expect(names(await store.listEventTypes({ page, includeArchived: false }))).toEqual([
        "a.created",
        "c.created",
      ]);
      const p1 = await store.listEventTypes({
        page: { limit: 2, iterator: null },
        includeArchived: true,
      });
      const p2 = await store.listEventTypes({
        page: { limit: 2, iterator: p1.iterator },
        includeArchived: true,
      });
      expect([names(p1), names(p2), p2.done]).toEqual([
        ["a.created", "b.created"],
        ["c.created"],
        true,
      ]);
    });

    it("replaces an event type's fields on update", async () => {
      const store = await openStore();
      const et = new Seed().eventType({ name: "invoice.paid" });
      await store.insertEventType(et);
      const updated = {
        ...et,
        description: "Paid",
        archived: true,
        deprecated: true,
        updatedAt: 5,
      };
      await store.updateEventType(updated);
      expect(await store.getEventType("invoice.paid")).toEqual(updated);
    });
  });

  describe(`${adapter} store: endpoints`, () => {
    it("finds an endpoint by id and by uid within its application only", async () => {
      const { store, seed, app } = await world();
      const other = seed.application();
      await store.insertApplication(other);
      const ep = seed.endpoint(app, {
        uid: "main",
        filterTypes: ["invoice.paid"],
        channels: ["eu"],
        headers: { "x-team": "billing" },
        previousSecrets: [{ key: "whsec_old", expiresAt: 123 }],
        accept302: true,
        disabled: true,
        failingSince: 77,
      });
      await store.insertEndpoint(ep);
      expect(await store.getEndpoint(app.id, ep.id)).toEqual(ep);
      expect(await store.getEndpoint(app.id, "main")).toEqual(ep);
      expect(await store.getEndpoint(other.id, ep.id), "another application's endpoint").toBeNull();
      expect(await store.getEndpoint(other.id, "main")).toBeNull();
    });

    it("refuses a taken uid within an application but allows it in another", async () => {
      const { store, seed, app } = await world();
      const other = seed.application();
      await store.insertApplication(other);
      await store.insertEndpoint(seed.endpoint(app, { uid: "main" }));
      await expect(store.insertEndpoint(seed.endpoint(app, { uid: "main" }))).rejects.toThrow(
        ConflictError,
      );
      await store.insertEndpoint(seed.endpoint(other, { uid: "main" }));
      const second = seed.endpoint(app, { uid: "second" });
      await store.insertEndpoint(second);
      await expect(store.updateEndpoint({ ...second, uid: "main" })).rejects.toThrow(ConflictError);
    });

    it("lists the endpoints of an application oldest first, paged and in full", async () => {
      const { store, seed, app, ep } = await world();
      const more = [seed.endpoint(app), seed.endpoint(app)];
      for (const e of more) await store.insertEndpoint(e);
      const p1 = await store.listEndpoints(app.id, { limit: 2, iterator: null });
      const p2 = await store.listEndpoints(app.id, { limit: 2, iterator: p1.iterator });
      expect([ids(p1), ids(p2), p2.done]).toEqual([[ep.id, more[0]!.id], [more[1]!.id], true]);
      expect(ids(await store.listAllEndpoints(app.id))).toEqual([ep.id, more[0]!.id, more[1]!.id]);
    });

    it("replaces an endpoint's fields on update", async () => {
      const { store, app, ep } = await world();
      const updated: Endpoint = {
        ...ep,
        url: "https://new.example.com/",
        disabled: true,
        filterTypes: null,
        channels: ["us"],
        rateLimit: 5,
        failingSince: 1_000,
        updatedAt: ep.updatedAt + 1,
      };
      await store.updateEndpoint(updated);
      expect(await store.getEndpoint(app.id, ep.id)).toEqual(updated);
    });

    it("keeps an endpoint's auth and TLS options with their secrets, and clears them", async () => {
      const { store, seed, app } = await world();
      const oauth = seed.endpoint(app, {
        auth: {
          type: "oauth2",
          tokenUrl: "https://auth.example.com/token",
          clientId: "hookyard",
          scope: "hooks:write",
          audience: null,
        },
        authSecret: "client-secret-1",
        tls: { clientCert: "-----BEGIN CERTIFICATE-----\nA\n", ca: null },
        tlsClientKey: "-----BEGIN PRIVATE KEY-----\nB\n",
      });
      await store.insertEndpoint(oauth);
      expect(await store.getEndpoint(app.id, oauth.id)).toEqual(oauth);
      const basic: Endpoint = {
        ...oauth,
        auth: { type: "basic", username: "ops" },
        authSecret: "pässword",
        tls: { clientCert: null, ca: "-----BEGIN CERTIFICATE-----\nC\n" },
        tlsClientKey: null,
        updatedAt: oauth.updatedAt + 1,
      };
      await store.updateEndpoint(basic);
      expect(await store.listAllEndpoints(app.id)).toContainEqual(basic);
      const cleared = { ...basic, auth: null, authSecret: null, tls: null, updatedAt: 9 };
      await store.updateEndpoint(cleared);
      expect(await store.getEndpoint(app.id, oauth.id)).toEqual(cleared);
    });

    it("writes an endpoint's health alone, keeping a change made to its other fields", async () => {
      const { store, app, ep } = await world();
      const changed: Endpoint = { ...ep, url: "https://new.example.com/", filterTypes: ["a.b"] };
      await store.updateEndpoint(changed);
      await store.updateEndpointHealth(app.id, ep.id, { failingSince: 5_000, updatedAt: 6_000 });
      expect(await store.getEndpoint(app.id, ep.id)).toEqual({
        ...changed,
        failingSince: 5_000,
        updatedAt: 6_000,
      });
      await store.updateEndpointHealth(app.id, ep.id, { disabled: true, updatedAt: 7_000 });
      expect(await store.getEndpoint(app.id, ep.id)).toEqual({
        ...changed,
        failingSince: 5_000,
        disabled: true,
        updatedAt: 7_000,
      });
      await store.updateEndpointHealth(app.id, ep.id, { failingSince: null, updatedAt: 8_000 });
      expect(await store.getEndpoint(app.id, ep.id)).toMatchObject({
        failingSince: null,
        disabled: true,
        url: "https://new.example.com/",
      });
    });

    it("cancels the open deliveries of a deleted endpoint and keeps finished ones", async () => {
      const { store, seed, app, ep } = await world();
      const keep = seed.endpoint(app);
      await store.insertEndpoint(keep);
      const pending = await publish(store, seed, app, [ep, keep]);
      const retrying = await publish(store, seed, app, [ep], {
        delivery: { status: "retrying", attempts: 1, leaseOwner: "w1", leaseUntil: 50_000 },
      });
      const done = await publish(store, seed, app, [ep], {
        delivery: { status: "succeeded", attempts: 1, nextAttemptAt: null },
      });
      await store.deleteEndpoint(app.id, ep.id);
      expect(await store.getEndpoint(app.id, ep.id)).toBeNull();
      const cancelled = {
        status: "cancelled",
        nextAttemptAt: null,
        leaseOwner: null,
        leaseUntil: null,
      };
      expect(await store.getDelivery(pending.message.id, ep.id)).toMatchObject(cancelled);
      expect(await store.getDelivery(retrying.message.id, ep.id)).toMatchObject({
        ...cancelled,
        attempts: 1,
      });
      expect(await store.getDelivery(done.message.id, ep.id)).toEqual(done.deliveries[0]);
      expect(await store.getDelivery(pending.message.id, keep.id)).toEqual(pending.deliveries[1]);
      expect(await store.listOpenDeliveriesOfEndpoint(ep.id)).toEqual([]);
    });
  });

  describe(`${adapter} store: messages`, () => {
    it("writes a message with its deliveries", async () => {
      const { store, seed, app, ep } = await world();
      const message = seed.message(app, { channels: ["eu"], tags: ["t1"], eventId: "evt_1" });
      const delivery = seed.delivery(message, ep);
      const result = await store.createMessage({
        message,
        deliveries: [delivery],
        eventIdSince: 0,
      });
      expect(result).toEqual({ created: true, message });
      expect(await store.getMessage(app.id, message.id)).toEqual(message);
      expect(await store.listDeliveriesOfMessage(message.id)).toEqual([delivery]);
      expect(await store.getMessage(seed.application().id, message.id), "other app").toBeNull();
    });

    it("writes the rule runs a message starts with it, and none for a repeated eventId", async () => {
      const { store, seed, app } = await world();
      const runs = new Runs();
      const message = seed.message(app, { eventId: "evt_runs" });
      const event = runs.event({ kind: "outbound", id: message.id, source: app.id });
      const run = runs.run(event, "on-message");
      await store.createMessage({ message, deliveries: [], eventIdSince: 0, ruleRuns: [run] });
      expect(await store.getRuleRun(run.id)).toEqual(run);

      const again = seed.message(app, { eventId: "evt_runs" });
      const dropped = runs.run(runs.event({ kind: "outbound", id: again.id }), "on-message");
      const result = await store.createMessage({
        message: again,
        deliveries: [],
        eventIdSince: 0,
        ruleRuns: [dropped],
      });
      expect(result.created).toBe(false);
      expect(await store.getRuleRun(dropped.id), "the repeat's runs are not stored").toBeNull();
    });

    it("writes a message and its deliveries all or nothing", async () => {
      const { store, seed, app, ep } = await world();
      const message = seed.message(app);
      const delivery = seed.delivery(message, ep);
      const clash = { ...seed.delivery(message, ep), id: delivery.id };
      const fine = seed.message(app);
      const [failed, ok] = await Promise.allSettled([
        store.createMessage({ message, deliveries: [delivery, clash], eventIdSince: 0 }),
        store.createMessage({ message: fine, deliveries: [], eventIdSince: 0 }),
      ]);
      expect(failed.status === "rejected" && failed.reason).toBeInstanceOf(ConflictError);
      expect(ok.status).toBe("fulfilled");
      expect(await store.getMessage(app.id, message.id), "no half-written message").toBeNull();
      expect(await store.listDeliveriesOfMessage(message.id)).toEqual([]);
      expect(await store.getMessage(app.id, fine.id)).toEqual(fine);
    });

    it("returns the existing message for a repeated eventId inside the window and writes nothing", async () => {
      const { store, seed, app, ep } = await world();
      const first = seed.message(app, { eventId: "evt_1", createdAt: 10_000 });
      await store.createMessage({
        message: first,
        deliveries: [seed.delivery(first, ep)],
        eventIdSince: 0,
      });
      const again = seed.message(app, { eventId: "evt_1", createdAt: 20_000 });
      const result = await store.createMessage({
        message: again,
        deliveries: [seed.delivery(again, ep)],
        eventIdSince: 10_000,
      });
      expect(result).toEqual({ created: false, message: first });
      expect(await store.getMessage(app.id, again.id)).toBeNull();
      expect(await store.listDeliveriesOfMessage(again.id)).toEqual([]);
    });

    it("creates a new message for a repeated eventId outside the window or in another application", async () => {
      const { store, seed, app } = await world();
      const other = seed.application();
      await store.insertApplication(other);
      const first = seed.message(app, { eventId: "evt_1", createdAt: 10_000 });
      await store.createMessage({ message: first, deliveries: [], eventIdSince: 0 });
      const later = seed.message(app, { eventId: "evt_1", createdAt: 30_000 });
      expect(
        await store.createMessage({ message: later, deliveries: [], eventIdSince: 10_001 }),
      ).toEqual({ created: true, message: later });
      const elsewhere = seed.message(other, { eventId: "evt_1" });
      expect(
        (await store.createMessage({ message: elsewhere, deliveries: [], eventIdSince: 0 }))
          .created,
      ).toBe(true);
    });

    it("dedups two same-batch messages with one eventId", async () => {
      const { store, seed, app } = await world();
      const a = seed.message(app, { eventId: "evt_1" });
      const b = seed.message(app, { eventId: "evt_1" });
      const results = await Promise.all([
        store.createMessage({ message: a, deliveries: [], eventIdSince: 0 }),
        store.createMessage({ message: b, deliveries: [], eventIdSince: 0 }),
      ]);
      expect(results).toEqual([
        { created: true, message: a },
        { created: false, message: a },
      ]);
    });

    it("pages through messages newest first by default across three pages", async () => {
      const { store, seed, app } = await world();
      const msgs: Message[] = [];
      for (let i = 0; i < 5; i++) msgs.push((await publish(store, seed, app, [])).message);
      const p1 = await store.listMessages(app.id, {}, { limit: 2, iterator: null });
      const p2 = await store.listMessages(app.id, {}, { limit: 2, iterator: p1.iterator });
      const p3 = await store.listMessages(app.id, {}, { limit: 2, iterator: p2.iterator });
      expect([ids(p1), ids(p2), ids(p3)]).toEqual([
        [msgs[4]!.id, msgs[3]!.id],
        [msgs[2]!.id, msgs[1]!.id],
        [msgs[0]!.id],
      ]);
      expect([p1.done, p2.done, p3.done]).toEqual([false, false, true]);
      const asc = await store.listMessages(
        app.id,
        {},
        { limit: 2, iterator: msgs[1]!.id, order: "ascending" },
      );
      expect(ids(asc)).toEqual([msgs[2]!.id, msgs[3]!.id]);
    });

    it("filters messages by event type, channel and creation time", async () => {
      const { store, seed, app } = await world();
      const m1 = seed.message(app, { eventType: "invoice.paid", channels: ["eu"] });
      const m2 = seed.message(app, { eventType: "invoice.failed", channels: ["us", "eu"] });
      const m3 = seed.message(app, { eventType: "user.created" });
      for (const message of [m1, m2, m3]) {
        await store.createMessage({ message, deliveries: [], eventIdSince: 0 });
      }
      const list = async (filter: Parameters<Store["listMessages"]>[1]): Promise<string[]> =>
        ids(await store.listMessages(app.id, filter, { limit: 10, iterator: null }));
      expect(await list({ eventTypes: ["invoice.paid", "user.created"] })).toEqual([m3.id, m1.id]);
      expect(await list({ channel: "eu" })).toEqual([m2.id, m1.id]);
      expect(await list({ channel: "us" })).toEqual([m2.id]);
      expect(await list({ after: m1.createdAt, before: m3.createdAt })).toEqual([m2.id]);
      expect(await list({ eventTypes: [] }), "an empty list filters nothing").toHaveLength(3);
    });

    it("keeps a message's traceparent wherever the message is read back, and none when absent", async () => {
      const { store, seed, app, ep } = await world();
      const traced = (n: number) => `00-${"ab".repeat(15)}0${n}-${"cd".repeat(7)}0${n}-01`;
      const alone = await publish(store, seed, app, [ep], {
        message: { traceparent: traced(1) },
      });
      // Written in one event-loop turn: one batch (a multi-row insert on PostgreSQL).
      const batch = await Promise.all([
        publish(store, seed, app, [ep], { message: { traceparent: traced(2) } }),
        publish(store, seed, app, [ep]),
      ]);
      const sent = [alone, ...batch].map((p) => p.message);
      expect(sent[2], "the untraced one has no traceparent at all").not.toHaveProperty(
        "traceparent",
      );
      for (const message of sent) {
        expect(await store.getMessage(app.id, message.id), message.id).toEqual(message);
      }
      const leased = await store.leaseDueDeliveries({
        now: SCHEDULED,
        limit: 10,
        leaseMs: 30_000,
        owner: "w",
      });
      expect(leased.map((l) => l.message).sort((a, b) => a.id.localeCompare(b.id))).toEqual(sent);
      const listed = await store.listEndpointMessages(ep.id, {}, { limit: 10, iterator: null });
      expect(listed.data.map((l) => l.message).reverse()).toEqual(sent);

      const source = seed.source({ appId: app.id });
      await store.insertSource(source);
      const request = seed.inboundRequest(source);
      const forward = seed.message(app.id, {
        inboundRequestId: request.id,
        traceparent: traced(3),
      });
      await store.insertInboundRequest(request, 0, { message: forward, deliveries: [] });
      expect(await store.getMessage(app.id, forward.id), "a received request's forward").toEqual(
        forward,
      );
    });
  });

  describe(`${adapter} store: deliveries`, () => {
    it("adds deliveries to an existing message and refuses a second one per endpoint", async () => {
      const { store, seed, app, ep } = await world();
      const second = seed.endpoint(app);
      await store.insertEndpoint(second);
      const { message, deliveries } = await publish(store, seed, app, [ep]);
      const added = seed.delivery(message, second);
      await store.insertDeliveries([added]);
      expect(await store.listDeliveriesOfMessage(message.id)).toEqual([deliveries[0], added]);
      expect(await store.getDelivery(message.id, second.id)).toEqual(added);
      await expect(store.insertDeliveries([seed.delivery(message, ep)])).rejects.toThrow(
        ConflictError,
      );
    });

    it("sets delivery states without an attempt", async () => {
      const { store, seed, app, ep } = await world();
      const { message, deliveries } = await publish(store, seed, app, [ep]);
      const update = {
        id: deliveries[0]!.id,
        status: "cancelled" as const,
        attempts: 0,
        nextAttemptAt: null,
        leaseOwner: null,
        leaseUntil: null,
        updatedAt: 123_456,
      };
      await store.updateDeliveries([update]);
      expect(await store.getDelivery(message.id, ep.id)).toEqual({ ...deliveries[0], ...update });
    });

    it("lists an endpoint's messages newest first with their deliveries, filtered by status", async () => {
      const { store, seed, app, ep } = await world();
      const statuses: DeliveryStatus[] = ["succeeded", "failed", "pending", "failed"];
      const sent: Message[] = [];
      for (const status of statuses) {
        sent.push((await publish(store, seed, app, [ep], { delivery: { status } })).message);
      }
      const p1 = await store.listEndpointMessages(ep.id, {}, { limit: 3, iterator: null });
      const p2 = await store.listEndpointMessages(ep.id, {}, { limit: 3, iterator: p1.iterator });
      const msgIds = (p: Page<{ message: Message }>): string[] => p.data.map((x) => x.message.id);
      expect([msgIds(p1), msgIds(p2)]).toEqual([
        [sent[3]!.id, sent[2]!.id, sent[1]!.id],
        [sent[0]!.id],
      ]);
      expect(p1.data[0]).toEqual({
        message: sent[3],
        delivery: await store.getDelivery(sent[3]!.id, ep.id),
      });
      const failed = await store.listEndpointMessages(
        ep.id,
        { statuses: ["failed"] },
        { limit: 10, iterator: null },
      );
      expect(msgIds(failed)).toEqual([sent[3]!.id, sent[1]!.id]);
      const none = await store.listEndpointMessages(
        ep.id,
        { statuses: [] },
        { limit: 10, iterator: null },
      );
      expect(none.data, "no state: nothing").toEqual([]);
      const window = await store.listEndpointMessages(
        ep.id,
        { after: sent[0]!.createdAt, before: sent[3]!.createdAt },
        { limit: 10, iterator: null },
      );
      expect(msgIds(window)).toEqual([sent[2]!.id, sent[1]!.id]);
    });

    it("lists failed deliveries of an endpoint created in [since, until), oldest first", async () => {
      const { store, seed, app, ep } = await world();
      const other = seed.endpoint(app);
      await store.insertEndpoint(other);
      const at = [1_000, 2_000, 3_000];
      const failed: Delivery[] = [];
      for (const createdAt of at) {
        const { deliveries } = await publish(store, seed, app, [ep, other], {
          delivery: { status: "failed", nextAttemptAt: null, createdAt },
        });
        failed.push(deliveries[0]!);
      }
      await publish(store, seed, app, [ep], {
        delivery: { status: "succeeded", createdAt: 1_500 },
      });
      expect(ids(await store.listFailedDeliveries(ep.id, 1_000, 3_000))).toEqual([
        failed[0]!.id,
        failed[1]!.id,
      ]);
      expect(await store.listFailedDeliveries(ep.id, 3_001, 9_000)).toEqual([]);
    });

    it("lists the open deliveries of an endpoint", async () => {
      const { store, seed, app, ep } = await world();
      const a = await publish(store, seed, app, [ep]);
      const b = await publish(store, seed, app, [ep], { delivery: { status: "retrying" } });
      await publish(store, seed, app, [ep], { delivery: { status: "failed" } });
      expect(ids(await store.listOpenDeliveriesOfEndpoint(ep.id)).sort()).toEqual(
        [a.deliveries[0]!.id, b.deliveries[0]!.id].sort(),
      );
    });
  });

  describe(`${adapter} store: leasing deliveries`, () => {
    const lease = { limit: 10, leaseMs: 30_000 };

    it("gives a due delivery to one worker only while the lease holds", async () => {
      const store = await openStore();
      const id = await seedDelivery(store, { dueAt: 1_000 });
      const first = await store.leaseDueDeliveries({ ...lease, now: 1_000, owner: "w1" });
      const second = await store.leaseDueDeliveries({ ...lease, now: 20_000, owner: "w2" });
      expect(first.map((d) => d.delivery.id)).toEqual([id]);
      expect(first[0]?.delivery).toMatchObject({ leaseOwner: "w1", leaseUntil: 31_000 });
      expect(second, "w1's lease runs until t=31000").toEqual([]);
    });

    it("offers a delivery to another worker once the lease has expired", async () => {
      const store = await openStore();
      const id = await seedDelivery(store, { dueAt: 1_000 });
      await store.leaseDueDeliveries({ ...lease, now: 1_000, owner: "w1" });
      const taken = await store.leaseDueDeliveries({ ...lease, now: 31_000, owner: "w2" });
      expect(taken.map((d) => d.delivery)).toMatchObject([
        { id, leaseOwner: "w2", leaseUntil: 61_000 },
      ]);
    });

    it("leaves a delivery taken over after an expired lease to its new owner", async () => {
      const store = await openStore();
      const seed = new Seed();
      const id = await seedDelivery(store, { dueAt: 1_000, seed });
      const [mine] = await store.leaseDueDeliveries({ ...lease, now: 1_000, owner: "w1" });
      const [theirs] = await store.leaseDueDeliveries({ ...lease, now: 31_000, owner: "w2" });
      const delivery = mine!.delivery;
      const result = (status: DeliveryStatus, owner: string) => ({
        id,
        status,
        attempts: 1,
        nextAttemptAt: status === "retrying" ? 40_000 : null,
        leaseOwner: status === "retrying" ? owner : null,
        leaseUntil: status === "retrying" ? 70_000 : null,
        updatedAt: 32_000,
        guard: { owner, attempts: 0 },
      });
      // w2 finishes it; w1, back from a stall longer than its lease, records a failure.
      const w2Attempt = seed.attempt(theirs!.delivery);
      const w1Attempt = seed.attempt(delivery, { succeeded: false, responseStatusCode: 503 });
      expect(await store.recordAttempt(w2Attempt, result("succeeded", "w2"))).toBe(true);
      expect(await store.recordAttempt(w1Attempt, result("retrying", "w1"))).toBe(false);
      await store.updateDeliveries([{ ...result("pending", "w1"), attempts: 0 }]);
      expect(await store.getDelivery(delivery.msgId, delivery.endpointId)).toMatchObject({
        status: "succeeded",
        attempts: 1,
        nextAttemptAt: null,
        leaseOwner: null,
      });
      expect(
        await store.getAttempt(delivery.appId, w1Attempt.id),
        "both attempts stay on record",
      ).toMatchObject({ succeeded: false, responseStatusCode: 503 });
      expect(await store.getAttempt(delivery.appId, w2Attempt.id)).not.toBeNull();
    });

    it("applies a guarded update while the writer's lease holds, one result per concurrent call", async () => {
      const store = await openStore();
      const seed = new Seed();
      const kept = await seedDelivery(store, { dueAt: 1_000, seed });
      const lost = await seedDelivery(store, { dueAt: 1_000, seed });
      const leased = await store.leaseDueDeliveries({ ...lease, now: 1_000, owner: "w1" });
      const byId = new Map(leased.map((l) => [l.delivery.id, l.delivery]));
      expect([...byId.keys()].sort()).toEqual([kept, lost].sort());
      // `lost` expires and goes to w2; `kept` had its lease renewed by w1.
      await store.renewLeases({ owner: "w1", ids: [kept], leaseUntil: 90_000 });
      await store.leaseDueDeliveries({ ...lease, now: 31_000, owner: "w2" });
      const succeeded = (deliveryId: DeliveryId) => ({
        id: deliveryId,
        status: "succeeded" as const,
        attempts: 1,
        nextAttemptAt: null,
        leaseOwner: null,
        leaseUntil: null,
        updatedAt: 40_000,
        guard: { owner: "w1", attempts: 0 },
      });
      // Made at once, so a store that groups concurrent calls answers each from one statement.
      const answers = await Promise.all(
        [kept, lost].map((d) => store.recordAttempt(seed.attempt(byId.get(d)!), succeeded(d))),
      );
      expect(answers).toEqual([true, false]);
      const state = async (d: DeliveryId) => {
        const { msgId, endpointId } = byId.get(d)!;
        return (await store.getDelivery(msgId, endpointId))?.status;
      };
      expect([await state(kept), await state(lost)]).toEqual(["succeeded", "pending"]);
    });

    it("does not offer a delivery before it is due", async () => {
      const store = await openStore();
      await seedDelivery(store, { dueAt: 5_000 });
      expect(await store.leaseDueDeliveries({ ...lease, now: 4_999, owner: "w1" })).toEqual([]);
      expect(await store.leaseDueDeliveries({ ...lease, now: 5_000, owner: "w1" })).toHaveLength(1);
    });

    it("leases the oldest due deliveries first, up to the limit, with their messages", async () => {
      const { store, seed, app, ep } = await world();
      const due = [3_000, 1_000, 2_000, 10_000];
      const made = [];
      for (const nextAttemptAt of due) {
        made.push(
          await publish(store, seed, app, [ep], {
            message: { channels: ["eu"], payload: `{"due":${nextAttemptAt}}` },
            delivery: { nextAttemptAt },
          }),
        );
      }
      const firstTwo = await store.leaseDueDeliveries({
        ...lease,
        limit: 2,
        now: 5_000,
        owner: "w",
      });
      expect(firstTwo.map((l) => l.delivery.nextAttemptAt)).toEqual([1_000, 2_000]);
      expect(firstTwo[0]!.message, "the leased delivery carries its message").toEqual(
        made[1]!.message,
      );
      const rest = await store.leaseDueDeliveries({ ...lease, now: 5_000, owner: "w" });
      expect(rest.map((l) => l.delivery.nextAttemptAt)).toEqual([3_000]);
    });

    it("never leases finished deliveries", async () => {
      const { store, seed, app, ep } = await world();
      for (const status of ["succeeded", "failed", "cancelled"] as const) {
        await publish(store, seed, app, [ep], { delivery: { status, nextAttemptAt: 1_000 } });
      }
      expect(await store.leaseDueDeliveries({ ...lease, now: 9_000, owner: "w" })).toEqual([]);
      expect(await store.nextDueAt()).toBeNull();
    });

    it("renews only the leases the owner still holds", async () => {
      const { store, seed, app, ep } = await world();
      const mine = await publish(store, seed, app, [ep], {
        delivery: { leaseOwner: "node_a", leaseUntil: 1_000 },
      });
      const theirs = await publish(store, seed, app, [ep], {
        delivery: { leaseOwner: "node_b", leaseUntil: 1_000 },
      });
      const [d1, d2] = [mine.deliveries[0]!, theirs.deliveries[0]!];
      const renewed = await store.renewLeases({
        owner: "node_a",
        ids: [d1.id, d2.id],
        leaseUntil: 9_000,
      });
      expect(renewed).toEqual([d1.id]);
      expect(await store.getDelivery(d1.msgId, ep.id)).toMatchObject({
        leaseOwner: "node_a",
        leaseUntil: 9_000,
      });
      expect(await store.getDelivery(d2.msgId, ep.id)).toMatchObject({
        leaseOwner: "node_b",
        leaseUntil: 1_000,
      });
      expect(await store.renewLeases({ owner: "node_a", ids: [], leaseUntil: 9_000 })).toEqual([]);
    });

    it("releases leases held by other owners so they can be taken at once", async () => {
      const { store, seed, app, ep } = await world();
      const foreign = { leaseOwner: "old-run", leaseUntil: 60_000, nextAttemptAt: 1_000 };
      await publish(store, seed, app, [ep], { delivery: foreign });
      await publish(store, seed, app, [ep], { delivery: foreign });
      await publish(store, seed, app, [ep], {
        delivery: { leaseOwner: "me", leaseUntil: 60_000, nextAttemptAt: 1_000 },
      });
      expect(await store.releaseForeignLeases("me")).toBe(2);
      const taken = await store.leaseDueDeliveries({ ...lease, now: 2_000, owner: "me" });
      expect(taken, "my own lease still holds; the freed ones are due").toHaveLength(2);
      expect(await store.releaseForeignLeases("me")).toBe(0);
    });

    it("reports the earliest due time among open deliveries nobody holds", async () => {
      const { store, seed, app, ep } = await world();
      expect(await store.nextDueAt()).toBeNull();
      await publish(store, seed, app, [ep], { delivery: { nextAttemptAt: 8_000 } });
      await publish(store, seed, app, [ep], {
        delivery: { nextAttemptAt: 5_000, leaseOwner: "w", leaseUntil: 90_000 },
      });
      await publish(store, seed, app, [ep], {
        delivery: { status: "failed", nextAttemptAt: 1_000 },
      });
      expect(await store.nextDueAt(), "the leased one at 5000 is held by its owner").toBe(8_000);
      await publish(store, seed, app, [ep], { delivery: { nextAttemptAt: 6_000 } });
      expect(await store.nextDueAt()).toBe(6_000);
    });
  });

  describe(`${adapter} store: attempts`, () => {
    async function attempted(): Promise<{
      store: Store;
      app: Application;
      ep: Endpoint;
      ep2: Endpoint;
      message: Message;
      attempts: ReturnType<Seed["attempt"]>[];
    }> {
      const { store, seed, app, ep } = await world();
      const ep2 = seed.endpoint(app);
      await store.insertEndpoint(ep2);
      const { message, deliveries } = await publish(store, seed, app, [ep, ep2]);
      const [d1, d2] = deliveries as [Delivery, Delivery];
      const failure = {
        succeeded: false,
        responseStatusCode: 503,
        errorClass: "http_status" as const,
      };
      const attempts = [
        seed.attempt(d1, failure),
        seed.attempt(d2, failure),
        seed.attempt(d1, { trigger: "manual" }),
      ];
      const states: DeliveryStatus[] = ["retrying", "retrying", "succeeded"];
      for (const [i, attempt] of attempts.entries()) {
        const d = attempt.deliveryId === d1.id ? d1 : d2;
        await store.recordAttempt(attempt, {
          id: d.id,
          status: states[i]!,
          attempts: i === 2 ? 2 : 1,
          nextAttemptAt: i === 2 ? null : 60_000,
          leaseOwner: i === 2 ? null : "w1",
          leaseUntil: i === 2 ? null : 90_000,
          updatedAt: attempt.createdAt,
        });
      }
      return { store, app, ep, ep2, message, attempts };
    }

    it("writes the attempt and the delivery's new state together", async () => {
      const { store, app, ep, ep2, message, attempts } = await attempted();
      expect(await store.getDelivery(message.id, ep.id)).toMatchObject({
        status: "succeeded",
        attempts: 2,
        nextAttemptAt: null,
        leaseOwner: null,
      });
      expect(await store.getDelivery(message.id, ep2.id)).toMatchObject({
        status: "retrying",
        attempts: 1,
        nextAttemptAt: 60_000,
        leaseOwner: "w1",
        leaseUntil: 90_000,
      });
      expect(await store.getAttempt(app.id, attempts[0]!.id)).toEqual(attempts[0]);
      expect(await store.getAttempt(new Seed().application().id, attempts[0]!.id)).toBeNull();
    });

    it("lists attempts of a message newest first, filtered by endpoint and outcome", async () => {
      const { store, app, ep, message, attempts } = await attempted();
      const [a0, a1, a2] = attempts.map((a) => a.id);
      const page = { limit: 10, iterator: null };
      expect(ids(await store.listAttemptsByMessage(app.id, message.id, {}, page))).toEqual([
        a2,
        a1,
        a0,
      ]);
      const byEp = await store.listAttemptsByMessage(
        app.id,
        message.id,
        { endpointId: ep.id },
        page,
      );
      expect(ids(byEp)).toEqual([a2, a0]);
      const failed = await store.listAttemptsByMessage(
        app.id,
        message.id,
        { succeeded: false },
        page,
      );
      expect(ids(failed)).toEqual([a1, a0]);
      const p1 = await store.listAttemptsByMessage(
        app.id,
        message.id,
        {},
        { limit: 2, iterator: null },
      );
      const p2 = await store.listAttemptsByMessage(
        app.id,
        message.id,
        {},
        { limit: 2, iterator: p1.iterator },
      );
      expect([ids(p1), ids(p2), p2.done]).toEqual([[a2, a1], [a0], true]);
    });

    it("lists attempts of an endpoint newest first, filtered by time and outcome", async () => {
      const { store, app, ep, attempts } = await attempted();
      const [a0, , a2] = attempts;
      const page = { limit: 10, iterator: null };
      expect(ids(await store.listAttemptsByEndpoint(app.id, ep.id, {}, page))).toEqual([
        a2!.id,
        a0!.id,
      ]);
      const ok = await store.listAttemptsByEndpoint(app.id, ep.id, { succeeded: true }, page);
      expect(ids(ok)).toEqual([a2!.id]);
      const early = await store.listAttemptsByEndpoint(
        app.id,
        ep.id,
        { before: a2!.createdAt },
        page,
      );
      expect(ids(early)).toEqual([a0!.id]);
      const late = await store.listAttemptsByEndpoint(
        app.id,
        ep.id,
        { after: a0!.createdAt },
        page,
      );
      expect(ids(late)).toEqual([a2!.id]);
      const elsewhere = await store.listAttemptsByEndpoint(
        new Seed().application().id,
        ep.id,
        {},
        page,
      );
      expect(elsewhere.data).toEqual([]);
    });
  });

  describe(`${adapter} store: endpoint statistics`, () => {
    it("counts an endpoint's deliveries by Svix status within a time window", async () => {
      const { store, seed, app, ep } = await world();
      const other = seed.endpoint(app);
      await store.insertEndpoint(other);
      const made: Array<[DeliveryStatus, number]> = [
        ["succeeded", 1_000],
        ["succeeded", 2_000],
        ["pending", 2_000],
        ["retrying", 3_000],
        ["failed", 3_000],
        ["cancelled", 4_000],
      ];
      for (const [status, createdAt] of made) {
        await publish(store, seed, app, [ep, other], { delivery: { status, createdAt } });
      }
      expect(await store.endpointStats(ep.id, null, null)).toEqual({
        success: 2,
        pending: 2,
        sending: 0,
        fail: 1,
        canceled: 1,
      });
      expect(await store.endpointStats(ep.id, 2_000, 4_000)).toEqual({
        success: 1,
        pending: 2,
        sending: 0,
        fail: 1,
        canceled: 0,
      });
    });
  });

  describe(`${adapter} store: table stats`, () => {
    it("reports rows and bytes of the tables it keeps", async () => {
      const { store, seed, app, ep } = await world();
      await publish(store, seed, app, [ep]);
      const stats = await store.tableStats();
      expect(stats.map((t) => t.table)).toEqual(
        expect.arrayContaining(["message", "delivery", "attempt", "endpoint", "application"]),
      );
      expect(stats.find((t) => t.table === "message")).toMatchObject({ rows: 1 });
      expect(stats.find((t) => t.table === "endpoint")).toMatchObject({ rows: 1 });
      for (const t of stats) expect(t.bytes, t.table).toBeGreaterThan(0);
    });
  });

  describe(`${adapter} store: retention`, () => {
    it("prunes old received requests once no message forwards them", async () => {
      const store = await openStore();
      const seed = new Seed();
      const app = seed.application();
      await store.insertApplication(app);
      const source = seed.source({ appId: app.id });
      await store.insertSource(source);
      const old = seed.inboundRequest(source);
      const forwarded = seed.inboundRequest(source);
      const message = seed.message(source.appId, { inboundRequestId: forwarded.id });
      await store.insertInboundRequest(old, 0);
      await store.insertInboundRequest(forwarded, 0, { message, deliveries: [] });
      expect(await store.getMessage(source.appId, message.id)).toEqual(message);
      const cutoff = seed.source().createdAt + 1;
      const recent = seed.inboundRequest(source);
      await store.insertInboundRequest(recent, 0);

      // The forwarding message (no deliveries left) goes first, its request with it or next.
      let pruned = 0;
      for (let i = 0; i < 3; i++)
        pruned += (await store.pruneBefore({ before: cutoff, limit: 10 })).inboundRequests;
      expect(pruned).toBe(2);
      expect(await store.getInboundRequest(source.id, old.id)).toBeNull();
      expect(await store.getInboundRequest(source.id, forwarded.id)).toBeNull();
      expect(await store.getInboundRequest(source.id, recent.id)).toEqual(recent);
    });

    it("prunes attempts, finished deliveries and their messages created before a time, in steps", async () => {
      const { store, seed, app, ep } = await world();
      const done = await publish(store, seed, app, [ep], { delivery: { status: "succeeded" } });
      const open = await publish(store, seed, app, [ep], { delivery: { status: "retrying" } });
      for (const d of [done.deliveries[0]!, open.deliveries[0]!]) {
        await store.recordAttempt(seed.attempt(d), { ...d, updatedAt: d.updatedAt });
      }
      const cutoff = seed.application().createdAt + 1; // later than everything above
      const recent = await publish(store, seed, app, [ep], { delivery: { status: "succeeded" } });
      const recentAttempt = seed.attempt(recent.deliveries[0]!);
      await store.recordAttempt(recentAttempt, recent.deliveries[0]!);

      expect(await store.pruneBefore({ before: cutoff, limit: 1 })).toEqual({
        attempts: 1,
        deliveries: 1,
        messages: 1,
        inboundRequests: 0,
        backgroundTasks: 0,
      });
      expect(await store.pruneBefore({ before: cutoff, limit: 100 })).toEqual({
        attempts: 1,
        deliveries: 0,
        messages: 0,
        inboundRequests: 0,
        backgroundTasks: 0,
      });
      expect(await store.pruneBefore({ before: cutoff, limit: 100 })).toEqual({
        attempts: 0,
        deliveries: 0,
        messages: 0,
        inboundRequests: 0,
        backgroundTasks: 0,
      });
      expect(await store.getMessage(app.id, done.message.id), "old and finished: gone").toBeNull();
      expect(await store.listDeliveriesOfMessage(done.message.id)).toEqual([]);
      expect(
        await store.getMessage(app.id, open.message.id),
        "old but still retrying: kept",
      ).not.toBeNull();
      expect(await store.listDeliveriesOfMessage(open.message.id)).toHaveLength(1);
      expect(await store.getMessage(app.id, recent.message.id)).not.toBeNull();
      expect(await store.getAttempt(app.id, recentAttempt.id)).not.toBeNull();
    });
  });

  describe(`${adapter} store: rule run retention`, () => {
    it("deletes finished runs created before a time, in steps, and the events only they used", async () => {
      const store = await openStore();
      const runs = new Runs();
      const gone = runs.event({ id: "req_gone" });
      const shared = runs.event({ id: "req_shared" });
      const oldDone = [
        runs.run(gone, "a", { status: "succeeded" }),
        runs.run(gone, "b", { status: "failed", error: "boom" }),
        runs.run(shared, "a", { status: "interrupted" }),
      ];
      const oldOpen = [runs.run(gone, "c"), runs.run(shared, "d", { status: "running" })];
      const cutoff = runs.now();
      const recent = runs.run(shared, "b", { status: "succeeded" });
      await store.insertRuleRuns([...oldDone, ...oldOpen, recent]);

      expect(await store.deleteRuleRunsBefore(cutoff, 2)).toBe(2);
      expect(await store.deleteRuleRunsBefore(cutoff, 2)).toBe(1);
      expect(await store.deleteRuleRunsBefore(cutoff, 2)).toBe(0);
      for (const run of oldDone) expect(await store.getRuleRun(run.id)).toBeNull();
      for (const run of [...oldOpen, recent]) expect(await store.getRuleRun(run.id)).toEqual(run);

      // Finish the open run of `gone`: deleting it deletes the event, so a new one may take its id.
      const finished = { ...oldOpen[0]!, status: "succeeded" as const };
      await store.updateRuleRun(finished);
      expect(await store.deleteRuleRunsBefore(cutoff, 10)).toBe(1);
      const renewed = runs.run({ ...gone, payload: { renewed: true } }, "a");
      const sharing = runs.run({ ...shared, payload: { renewed: true } }, "a");
      await store.insertRuleRuns([renewed, sharing]);
      expect((await store.getRuleRun(renewed.id))?.event.payload).toEqual({ renewed: true });
      expect(await store.getRuleRun(sharing.id), "still used: kept").toEqual({
        ...sharing,
        event: shared,
      });
    });
  });

  describe(`${adapter} store: svix 2.x additions`, () => {
    /** Stores the attempt with its delivery left retrying, unleased. */
    const recordRetrying = (store: Store, attempt: Attempt) =>
      store.recordAttempt(attempt, {
        id: attempt.deliveryId,
        status: "retrying",
        attempts: 1,
        nextAttemptAt: 60_000,
        leaseOwner: null,
        leaseUntil: null,
        updatedAt: attempt.createdAt,
      });

    it("keeps an endpoint's payload filter and a message's scheduled time", async () => {
      const { store, seed, app } = await world();
      const ep = seed.endpoint(app, { payloadFilter: "payload.amount > 1000" });
      await store.insertEndpoint(ep);
      expect((await store.getEndpoint(app.id, ep.id))?.payloadFilter).toBe("payload.amount > 1000");
      await store.updateEndpoint({ ...ep, payloadFilter: null });
      expect((await store.getEndpoint(app.id, ep.id))?.payloadFilter).toBeNull();
      const { message, deliveries } = await publish(store, seed, app, [ep], {
        message: { deliverAt: SCHEDULED },
        delivery: { nextAttemptAt: SCHEDULED },
      });
      expect(await store.getMessage(app.id, message.id)).toEqual(message);
      const due = await store.leaseDueDeliveries({
        now: SCHEDULED,
        limit: 10,
        leaseMs: 1_000,
        owner: "w1",
      });
      expect(due.map((d) => [d.delivery.id, d.message.deliverAt])).toEqual([
        [deliveries[0]!.id, SCHEDULED],
      ]);
    });

    it("filters messages by tag", async () => {
      const { store, seed, app } = await world();
      const { message: tagged } = await publish(store, seed, app, [], {
        message: { tags: ["vip", "eu"] },
      });
      await publish(store, seed, app, [], { message: { tags: ["eu"] } });
      await publish(store, seed, app, []);
      const page = { limit: 10, iterator: null };
      expect(ids(await store.listMessages(app.id, { tag: "vip" }, page))).toEqual([tagged.id]);
      expect((await store.listMessages(app.id, { tag: "eu" }, page)).data).toHaveLength(2);
    });

    it("filters attempts and an endpoint's messages by status code class and message fields", async () => {
      const { store, seed, app, ep } = await world();
      const a = await publish(store, seed, app, [ep], {
        message: { eventType: "a.x", channels: ["eu"], tags: ["t1"] },
      });
      const b = await publish(store, seed, app, [ep], { message: { eventType: "b.x" } });
      const attempts = [
        seed.attempt(a.deliveries[0]!, { succeeded: false, responseStatusCode: 503 }),
        seed.attempt(b.deliveries[0]!, { succeeded: false, responseStatusCode: 0 }),
        seed.attempt(b.deliveries[0]!, { responseStatusCode: 204 }),
      ];
      for (const attempt of attempts) await recordRetrying(store, attempt);
      const [a503, b0, b204] = attempts.map((x) => x.id);
      const page = { limit: 10, iterator: null };
      const byEp = async (filter: Parameters<Store["listAttemptsByEndpoint"]>[2]) =>
        ids(await store.listAttemptsByEndpoint(app.id, ep.id, filter, page));
      expect(await byEp({ statusCodeClass: 500 })).toEqual([a503]);
      expect(await byEp({ statusCodeClass: 0 }), "0 = no response").toEqual([b0]);
      expect(await byEp({ statusCodeClass: 200 })).toEqual([b204]);
      expect(await byEp({ eventTypes: ["b.x"] })).toEqual([b204, b0]);
      expect(await byEp({ channel: "eu" })).toEqual([a503]);
      expect(await byEp({ tag: "t1" })).toEqual([a503]);
      expect(await byEp({ tag: "t1", statusCodeClass: 200 })).toEqual([]);
      const byMsg = await store.listAttemptsByMessage(
        app.id,
        b.message.id,
        { statusCodeClass: 0 },
        page,
      );
      expect(ids(byMsg)).toEqual([b0]);

      const epMessages = async (filter: Parameters<Store["listEndpointMessages"]>[1]) =>
        (await store.listEndpointMessages(ep.id, filter, page)).data.map((m) => m.message.id);
      expect(await epMessages({ statusCodeClass: 500 })).toEqual([a.message.id]);
      expect(await epMessages({ statusCodeClass: 200 })).toEqual([b.message.id]);
      expect(await epMessages({ eventTypes: ["a.x"] })).toEqual([a.message.id]);
      expect(await epMessages({ channel: "eu", tag: "t1" })).toEqual([a.message.id]);
      expect(await epMessages({ tag: "nope" })).toEqual([]);
    });

    it("lists the messages of a window an endpoint has no delivery of, oldest first", async () => {
      const { store, seed, app, ep } = await world();
      const early = await publish(store, seed, app, []);
      const got = await publish(store, seed, app, [ep]);
      const missed1 = await publish(store, seed, app, []);
      const missed2 = await publish(store, seed, app, []);
      const late = await publish(store, seed, app, []);
      const other = seed.application();
      await store.insertApplication(other);
      await publish(store, seed, other, []);
      const window = {
        appId: app.id,
        endpointId: ep.id,
        since: got.message.createdAt,
        until: late.message.createdAt,
      };
      const afterId = null;
      expect(
        ids(await store.listMessagesWithoutDelivery({ ...window, afterId, limit: 10 })),
      ).toEqual([missed1.message.id, missed2.message.id]);
      const first = await store.listMessagesWithoutDelivery({ ...window, afterId, limit: 1 });
      expect(ids(first)).toEqual([missed1.message.id]);
      const next = { ...window, afterId: first[0]!.id, limit: 1 };
      expect(ids(await store.listMessagesWithoutDelivery(next)), "the next page").toEqual([
        missed2.message.id,
      ]);
      expect(early.message.createdAt).toBeLessThan(window.since);
    });

    it("expunges a message's payload and cancels its open deliveries, and an attempt's response", async () => {
      const { store, seed, app, ep } = await world();
      const { message, deliveries } = await publish(store, seed, app, [ep]);
      const attempt = seed.attempt(deliveries[0]!, { responseBody: "secret" });
      await recordRetrying(store, attempt);
      expect(await store.expungeMessageContent(app.id, message.id, 99)).toBe(true);
      expect(await store.getMessage(app.id, message.id)).toEqual({ ...message, payload: "" });
      expect(await store.listDeliveriesOfMessage(message.id)).toMatchObject([
        { status: "cancelled", nextAttemptAt: null, updatedAt: 99 },
      ]);
      expect(await store.expungeAttemptContent(app.id, attempt.id)).toBe(true);
      expect(await store.getAttempt(app.id, attempt.id)).toEqual({
        ...attempt,
        responseBody: "EXPUNGED",
        responseHeaders: null,
      });
      const elsewhere = seed.application().id;
      expect(await store.expungeMessageContent(elsewhere, message.id, 99)).toBe(false);
      expect(await store.expungeAttemptContent(elsewhere, attempt.id)).toBe(false);
    });

    it("counts deliveries per application in a window", async () => {
      const { store, seed, app, ep } = await world();
      const other = seed.application();
      await store.insertApplication(other);
      const otherEp = seed.endpoint(other);
      await store.insertEndpoint(otherEp);
      const first = await publish(store, seed, app, [ep]);
      await publish(store, seed, app, [ep]);
      await publish(store, seed, other, [otherEp]);
      const since = first.deliveries[0]!.createdAt;
      const all = await store.countDeliveriesByApp({ since, until: since + 1_000, appIds: null });
      expect(all.sort((x, y) => (x.appId < y.appId ? -1 : 1))).toEqual(
        [
          { appId: app.id, deliveries: 2 },
          { appId: other.id, deliveries: 1 },
        ].sort((x, y) => (x.appId < y.appId ? -1 : 1)),
      );
      expect(
        await store.countDeliveriesByApp({ since, until: since + 1_000, appIds: [other.id] }),
      ).toEqual([{ appId: other.id, deliveries: 1 }]);
      expect(await store.countDeliveriesByApp({ since: 0, until: since, appIds: null })).toEqual(
        [],
      );
    });

    it("stores, updates, lists and fails running background tasks", async () => {
      const store = await openStore();
      const seed = new Seed();
      const task = (kind: BackgroundTask["task"], status: BackgroundTask["status"]) => {
        const id = seed.id("qtask");
        return { id, task: kind, status, data: {}, createdAt: 1_000, updatedAt: 1_000 };
      };
      const recover = task("endpoint.recover", "running");
      const stats = task("application.stats", "finished");
      const replay = task("endpoint.replay", "running");
      for (const t of [recover, stats, replay]) await store.insertBackgroundTask(t);
      await expect(store.insertBackgroundTask(recover)).rejects.toBeInstanceOf(ConflictError);
      const done = {
        ...recover,
        status: "finished" as const,
        data: { messagesSent: 3 },
        updatedAt: 2_000,
      };
      await store.updateBackgroundTask(done);
      expect(await store.getBackgroundTask(recover.id)).toEqual(done);
      const page = { limit: 10, iterator: null };
      expect(ids(await store.listBackgroundTasks({}, page))).toEqual([
        replay.id,
        stats.id,
        recover.id,
      ]);
      expect(ids(await store.listBackgroundTasks({ status: "finished" }, page))).toEqual([
        stats.id,
        recover.id,
      ]);
      expect(ids(await store.listBackgroundTasks({ task: "endpoint.replay" }, page))).toEqual([
        replay.id,
      ]);
      // Retention: by the id's time, finished and failed tasks only.
      const later = Date.UTC(2030, 0, 1);
      expect((await store.pruneBefore({ before: later, limit: 10 })).backgroundTasks).toBe(2);
      expect(ids(await store.listBackgroundTasks({}, page))).toEqual([replay.id]);
      expect(await store.failRunningBackgroundTasks(3_000, "interrupted")).toBe(1);
      expect(await store.getBackgroundTask(replay.id)).toEqual({
        ...replay,
        status: "failed",
        data: { error: "interrupted" },
        updatedAt: 3_000,
      });
    });
  });

  describe(`${adapter} store: idempotency keys`, () => {
    it("keeps the first record written for a key", async () => {
      const store = await openStore();
      expect(await store.getIdempotencyRecord("key-1")).toBeNull();
      const first = { key: "key-1", statusCode: 202, body: '{"id":"msg_1"}', createdAt: 1_000 };
      await store.putIdempotencyRecord(first);
      await store.putIdempotencyRecord({ ...first, statusCode: 500, body: "{}", createdAt: 2_000 });
      expect(await store.getIdempotencyRecord("key-1")).toEqual(first);
    });

    it("prunes records created before a time and says how many", async () => {
      const store = await openStore();
      for (const [key, createdAt] of [
        ["a", 1_000],
        ["b", 2_000],
        ["c", 3_000],
      ] as const) {
        await store.putIdempotencyRecord({ key, statusCode: 200, body: "{}", createdAt });
      }
      expect(await store.pruneIdempotencyRecords(3_000)).toBe(2);
      expect(await store.getIdempotencyRecord("b")).toBeNull();
      expect(await store.getIdempotencyRecord("c")).not.toBeNull();
    });
  });

  describe(`${adapter} store: lifecycle`, () => {
    it("settles every write queued before whenIdle, and is idle at once when nothing is queued", async () => {
      const store = await openStore();
      await store.whenIdle();
      const settled: string[] = [];
      for (const key of ["a", "b", "c"]) {
        void store.setSetting(key, key).then(() => settled.push(key));
      }
      await store.whenIdle();
      await Promise.resolve(); // the writes' own continuations run before this one
      expect(settled).toEqual(["a", "b", "c"]);
      expect(await store.getSetting("c")).toBe("c");
    });

    it("commits a write still queued when closed, and closes idempotently", async () => {
      const store = await openStore();
      const queued = store.setSetting("k", "v");
      await store.close();
      await expect(queued).resolves.toBeUndefined();
      await store.close();
      await expect(store.setSetting("k", "w"), "writes after close").rejects.toThrow();
    });
  });
}

/**
 * Rule runs and their events for the contract: ids and times from one counter that moves 1 ms per
 * run, as `Seed` does, so runs made later list later.
 */
class Runs {
  #tick = Date.UTC(2025, 0, 1);
  readonly #ids = new TimeSortableIds({ now: () => this.#tick });
  #events = 0;

  /** The time the next run gets. */
  now(): number {
    return this.#tick;
  }

  /** An inbound-like event of about 3 KB (headers, raw body, parsed payload). */
  event(overrides: Partial<RuleEvent> = {}): RuleEvent {
    const n = ++this.#events;
    const payload = {
      n,
      ref: "refs/heads/main",
      commits: Array.from({ length: 20 }, (_, i) => ({ id: `c${i}`, message: "x".repeat(40) })),
    };
    return {
      kind: "inbound",
      id: `req_event${n}`,
      source: "github",
      type: "push",
      payload,
      headers: { "content-type": "application/json", "x-github-event": "push" },
      body: JSON.stringify(payload),
      method: "POST",
      path: "/",
      query: { a: "1" },
      receivedAt: new Date(this.#tick).toISOString(),
      ...overrides,
    };
  }

  /** A queued run of `rule` for `event`, leased by "p1". */
  run(event: RuleEvent, rule: string, overrides: Partial<RuleRun> = {}): RuleRun {
    const at = this.#tick;
    const id = this.#ids.next("rrun");
    this.#tick++;
    return {
      id,
      rule,
      status: "queued",
      event,
      actions: [],
      error: null,
      owner: "p1",
      leaseUntil: at + 60_000,
      createdAt: at,
      startedAt: null,
      finishedAt: null,
      ...overrides,
    };
  }
}
