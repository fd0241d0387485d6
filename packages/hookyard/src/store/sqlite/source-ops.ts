import type { Source, SourceId } from "../../model.js";
import * as rows from "../rows/source-rows.js";
import type { Page, PageRequest } from "../store.js";
import { conflictOn } from "./sqlite-driver.js";
import type { SqliteContext } from "./statements.js";

/** Inbound sources and their ingest tokens. Synchronous; writes run inside a group commit. */

export function insertSource({ s }: SqliteContext, source: Source): void {
  conflictOn(
    () => {
      s.insertSource.run(rows.sourceToRow(source));
      for (const token of rows.sourceTokenRows(source)) s.insertSourceToken.run(token);
    },
    () => `source uid "${source.uid}" or one of its tokens is already taken`,
  );
}

export function getSource(ctx: SqliteContext, idOrUid: string): Source | null {
  const { s } = ctx;
  const row = (s.getSourceById.get(idOrUid) ?? s.getSourceByUid.get(idOrUid)) as
    rows.SourceRow | undefined;
  return row === undefined ? null : withTokens(ctx, row);
}

export function getSourceByToken(ctx: SqliteContext, token: string, now: number): Source | null {
  const row = ctx.s.getSourceByToken.get(token, now) as rows.SourceRow | undefined;
  return row === undefined ? null : withTokens(ctx, row);
}

export function listSources(ctx: SqliteContext, page: PageRequest): Page<Source> {
  return ctx.listings.page({
    select: "SELECT * FROM source",
    where: [],
    params: [],
    cursorColumn: "id",
    page,
    defaultOrder: "ascending",
    map: (row: rows.SourceRow) => withTokens(ctx, row),
    cursorOf: (source) => source.id,
  });
}

export function updateSource({ s }: SqliteContext, source: Source): void {
  conflictOn(
    () => {
      s.updateSource.run(rows.sourceToRow(source));
      s.deleteSourceTokens.run(source.id);
      for (const token of rows.sourceTokenRows(source)) s.insertSourceToken.run(token);
    },
    () => `source uid "${source.uid}" or one of its tokens is already taken`,
  );
}

export function deleteSource({ s }: SqliteContext, id: SourceId): void {
  s.deleteSourceTokens.run(id);
  s.deleteSource.run(id);
}

function withTokens({ s }: SqliteContext, row: rows.SourceRow): Source {
  return rows.rowToSource(row, s.listSourceTokens.all(row.id) as rows.SourceTokenRow[]);
}
