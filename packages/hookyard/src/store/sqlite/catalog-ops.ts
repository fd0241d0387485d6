import type { AppId, Application, Endpoint, EndpointId, EventType } from "../../model.js";
import type { ApplicationFilter, EndpointHealth, Page, PageRequest } from "../store.js";
import * as rows from "../rows/config-rows.js";
import { openSetting, sealSetting } from "../rows/secret-rows.js";
import { conflictOn } from "./sqlite-driver.js";
import type { SqliteContext } from "./statements.js";

/**
 * Settings, applications, event types and endpoints: the configuration side of the store.
 * Synchronous functions over the connection; `SqliteStore` runs writes inside a group commit.
 */

export function getSetting({ s, box }: SqliteContext, key: string): string | null {
  const row = s.getSetting.get(key) as { value: string } | undefined;
  return openSetting(box, key, row?.value ?? null);
}

export function setSetting({ s, box }: SqliteContext, key: string, value: string): void {
  s.setSetting.run(key, sealSetting(box, key, value));
}

export function insertApplication({ s }: SqliteContext, app: Application): void {
  conflictOn(
    () => s.insertApplication.run(rows.applicationToRow(app)),
    () => `application uid "${app.uid}" or id ${app.id} is already taken`,
  );
}

export function getApplication({ s }: SqliteContext, idOrUid: string): Application | null {
  const row = (s.getApplicationById.get(idOrUid) ?? s.getApplicationByUid.get(idOrUid)) as
    rows.ApplicationRow | undefined;
  return row === undefined ? null : rows.rowToApplication(row);
}

export function listApplications(
  { listings }: SqliteContext,
  page: PageRequest,
  filter: ApplicationFilter = {},
): Page<Application> {
  return listings.page({
    select: "SELECT * FROM application",
    where: rows.applicationFilterTerms(filter),
    params: [],
    cursorColumn: "id",
    page,
    defaultOrder: "ascending",
    map: rows.rowToApplication,
    cursorOf: (app) => app.id,
  });
}

export function updateApplication({ s }: SqliteContext, app: Application): void {
  conflictOn(
    () => s.updateApplication.run(rows.applicationToRow(app)),
    () => `application uid "${app.uid}" is already taken`,
  );
}

/**
 * Deletes the application with its endpoints, messages, attempts and finished deliveries. Its
 * open deliveries are kept and cancelled, so one the engine still holds ends in a known state.
 */
export function deleteApplication({ s }: SqliteContext, id: AppId): void {
  // Finished deliveries go first, then the open ones become cancelled (and are kept).
  s.deleteFinalDeliveriesOfApp.run(id, id);
  s.cancelOpenDeliveriesOfApp.run(id);
  s.deleteAttemptsOfApp.run(id, id);
  s.deleteMessagesOfApp.run(id);
  s.deleteEndpointsOfApp.run(id);
  s.deleteApplication.run(id);
}

export function insertEventType({ s }: SqliteContext, eventType: EventType): void {
  conflictOn(
    () => s.insertEventType.run(rows.eventTypeToRow(eventType)),
    () => `event type "${eventType.name}" already exists`,
  );
}

export function getEventType({ s }: SqliteContext, name: string): EventType | null {
  const row = s.getEventType.get(name) as rows.EventTypeRow | undefined;
  return row === undefined ? null : rows.rowToEventType(row);
}

export function listEventTypes(
  { listings }: SqliteContext,
  req: { page: PageRequest; includeArchived: boolean },
): Page<EventType> {
  return listings.page({
    select: "SELECT * FROM event_type",
    where: req.includeArchived ? [] : ["archived = 0"],
    params: [],
    cursorColumn: "name",
    page: req.page,
    defaultOrder: "ascending",
    map: rows.rowToEventType,
    cursorOf: (et) => et.name,
  });
}

export function updateEventType({ s }: SqliteContext, eventType: EventType): void {
  s.updateEventType.run(rows.eventTypeToRow(eventType));
}

export function insertEndpoint({ s, box }: SqliteContext, endpoint: Endpoint): void {
  conflictOn(
    () => s.insertEndpoint.run(rows.endpointToRow(endpoint, box)),
    () => `endpoint uid "${endpoint.uid}" or id ${endpoint.id} is already taken`,
  );
}

export function getEndpoint(
  { s, box }: SqliteContext,
  appId: AppId,
  idOrUid: string,
): Endpoint | null {
  const row = (s.getEndpointById.get(appId, idOrUid) ?? s.getEndpointByUid.get(appId, idOrUid)) as
    rows.EndpointRow | undefined;
  return row === undefined ? null : rows.rowToEndpoint(row, box);
}

export function listEndpoints(
  { listings, box }: SqliteContext,
  appId: AppId,
  page: PageRequest,
): Page<Endpoint> {
  return listings.page({
    select: "SELECT * FROM endpoint",
    where: ["app_id = ?"],
    params: [appId],
    cursorColumn: "id",
    page,
    defaultOrder: "ascending",
    map: (row: rows.EndpointRow) => rows.rowToEndpoint(row, box),
    cursorOf: (ep) => ep.id,
  });
}

export function listAllEndpoints({ s, box }: SqliteContext, appId: AppId): Endpoint[] {
  return (s.listAllEndpoints.all(appId) as rows.EndpointRow[]).map((row) =>
    rows.rowToEndpoint(row, box),
  );
}

export function updateEndpoint({ s, box }: SqliteContext, endpoint: Endpoint): void {
  conflictOn(
    () => s.updateEndpoint.run(rows.endpointToRow(endpoint, box)),
    () => `endpoint uid "${endpoint.uid}" is already taken`,
  );
}

export function updateEndpointHealth(
  { s }: SqliteContext,
  appId: AppId,
  id: EndpointId,
  health: EndpointHealth,
): void {
  if (health.failingSince !== undefined) {
    s.updateEndpointFailingSince.run(health.failingSince, health.updatedAt, appId, id);
  }
  if (health.disabled === true) s.disableEndpoint.run(health.updatedAt, appId, id);
}

/** Deletes the endpoint (if it belongs to `appId`) and cancels its open deliveries. */
export function deleteEndpoint({ s }: SqliteContext, appId: AppId, id: EndpointId): void {
  if (s.deleteEndpoint.run(appId, id).changes > 0) s.cancelOpenDeliveriesOfEndpoint.run(id);
}
