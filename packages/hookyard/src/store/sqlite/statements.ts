import type { SecretBox } from "../../secrets/secret-box.js";
import type { ListingQueries } from "./listing-queries.js";
import type { SqliteDatabase, SqliteStatement } from "./sqlite-driver.js";
import { deliveryGuardSql } from "../rows/delivery-rows.js";
import { FINISHED_RULE_RUN, RULE_RUN_RETURNING, RULE_RUN_SELECT } from "../rows/rule-run-rows.js";

/**
 * Every fixed statement of the adapter, prepared once when the store opens. Statements whose
 * WHERE clause depends on optional filters are built by listing-queries.ts instead.
 */

/** Must stay textually identical to the WHERE of the `delivery_open_due` partial index. */
export const OPEN_DELIVERY = "status IN ('pending', 'retrying')";

const DELIVERY_COLUMNS =
  "d.id, d.msg_id, d.endpoint_id, d.app_id, d.status, d.attempts, d.next_attempt_at, " +
  "d.lease_owner, d.lease_until, d.created_at, d.updated_at";

/** A delivery joined with its message (see `DeliveryMessageRow`). */
export const DELIVERY_MESSAGE_SELECT =
  `SELECT ${DELIVERY_COLUMNS}, m.event_type AS m_event_type, m.event_id AS m_event_id, ` +
  "m.channels AS m_channels, m.tags AS m_tags, m.payload AS m_payload, " +
  "m.inbound_request_id AS m_inbound_request_id, m.deliver_at AS m_deliver_at, " +
  "m.created_at AS m_created_at, m.traceparent AS m_traceparent " +
  "FROM delivery d JOIN message m ON m.id = d.msg_id";

const SQL = {
  getSetting: "SELECT value FROM settings WHERE key = ?",
  setSetting:
    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",

  insertApplication: `INSERT INTO application (id, uid, name, rate_limit, metadata, created_at, updated_at)
    VALUES (@id, @uid, @name, @rate_limit, @metadata, @created_at, @updated_at)`,
  getApplicationById: "SELECT * FROM application WHERE id = ?",
  getApplicationByUid: "SELECT * FROM application WHERE uid = ?",
  updateApplication: `UPDATE application SET uid = @uid, name = @name, rate_limit = @rate_limit,
    metadata = @metadata, updated_at = @updated_at WHERE id = @id`,
  deleteApplication: "DELETE FROM application WHERE id = ?",
  deleteEndpointsOfApp: "DELETE FROM endpoint WHERE app_id = ?",
  deleteMessagesOfApp: "DELETE FROM message WHERE app_id = ?",
  deleteAttemptsOfApp:
    "DELETE FROM attempt WHERE msg_id IN (SELECT id FROM message WHERE app_id = ?) AND app_id = ?",
  deleteFinalDeliveriesOfApp: `DELETE FROM delivery
    WHERE msg_id IN (SELECT id FROM message WHERE app_id = ?) AND app_id = ? AND NOT ${OPEN_DELIVERY}`,
  cancelOpenDeliveriesOfApp: `UPDATE delivery SET status = 'cancelled', next_attempt_at = NULL,
    lease_owner = NULL, lease_until = NULL WHERE ${OPEN_DELIVERY} AND app_id = ?`,

  insertSource: `INSERT INTO source (id, app_id, uid, name, type, config, metadata, created_at,
      updated_at)
    VALUES (@id, @app_id, @uid, @name, @type, @config, @metadata, @created_at, @updated_at)`,
  getSourceById: "SELECT * FROM source WHERE id = ?",
  getSourceByUid: "SELECT * FROM source WHERE uid = ?",
  getSourceByToken: `SELECT s.* FROM source_token t JOIN source s ON s.id = t.source_id
    WHERE t.token = ? AND (t.expires_at IS NULL OR t.expires_at > ?)`,
  updateSource: `UPDATE source SET uid = @uid, name = @name, type = @type, config = @config,
    metadata = @metadata, updated_at = @updated_at WHERE id = @id`,
  deleteSource: "DELETE FROM source WHERE id = ?",
  insertSourceToken: `INSERT INTO source_token (token, source_id, expires_at)
    VALUES (@token, @source_id, @expires_at)`,
  listSourceTokens: "SELECT * FROM source_token WHERE source_id = ?",
  deleteSourceTokens: "DELETE FROM source_token WHERE source_id = ?",
  deleteInboundRequestsOfSource: "DELETE FROM inbound_request WHERE source_id = ?",
  insertInboundRequest: `INSERT INTO inbound_request (id, source_id, status, reason, method, path,
      query, headers, body, body_bytes_received, source_ip, dedup_key, replay_key, event_type,
      duplicate_of, created_at)
    VALUES (@id, @source_id, @status, @reason, @method, @path, @query, @headers, @body,
      @body_bytes_received, @source_ip, @dedup_key, @replay_key, @event_type, @duplicate_of,
      @created_at)`,
  // The first accepted request carrying either key; each half is a range of its partial index.
  findAcceptedRepeat: `SELECT id, created_at FROM inbound_request WHERE source_id = @source_id
      AND dedup_key = @dedup_key AND status = 'accepted' AND dedup_key IS NOT NULL
      AND created_at >= @since
    UNION ALL SELECT id, created_at FROM inbound_request WHERE source_id = @source_id
      AND replay_key = @replay_key AND status = 'accepted' AND replay_key IS NOT NULL
      AND created_at >= @since
    ORDER BY created_at LIMIT 1`,
  getInboundRequest: "SELECT * FROM inbound_request WHERE source_id = ? AND id = ?",
  getInboundRequestById: "SELECT * FROM inbound_request WHERE id = ?",
  listInboundRequestIds:
    "SELECT id FROM inbound_request WHERE source_id = ? AND status = ? AND id > ? ORDER BY id LIMIT ?",
  deleteInboundRequest: "DELETE FROM inbound_request WHERE source_id = ? AND id = ?",
  trimInboundRequests: `DELETE FROM inbound_request WHERE id IN (SELECT r.id FROM inbound_request r
    WHERE r.source_id = ? AND NOT EXISTS (SELECT 1 FROM message m WHERE m.inbound_request_id = r.id)
      AND r.id < (SELECT id FROM inbound_request WHERE source_id = ? ORDER BY id DESC
        LIMIT 1 OFFSET ?))`,
  trimInboundRequestsByStatus: `DELETE FROM inbound_request WHERE id IN (SELECT r.id
    FROM inbound_request r WHERE r.source_id = ? AND r.status = ?
      AND NOT EXISTS (SELECT 1 FROM message m WHERE m.inbound_request_id = r.id)
      AND r.id < (SELECT id FROM inbound_request WHERE source_id = ? AND status = ?
        ORDER BY id DESC LIMIT 1 OFFSET ?))`,

  // A run's event is stored once, by the first batch of runs for it (rule-run-rows.ts).
  insertRuleEvent: `INSERT INTO rule_event (id, event, created_at)
    VALUES (@id, @event, @created_at) ON CONFLICT (id) DO NOTHING`,
  insertRuleRun: `INSERT INTO rule_run (id, rule, status, event_id, actions, error, owner,
      lease_until, created_at, started_at, finished_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  updateRuleRun: `UPDATE rule_run SET status = @status, actions = @actions, error = @error,
      owner = @owner, lease_until = @lease_until, started_at = @started_at,
      finished_at = @finished_at
    WHERE id = @id`,
  getRuleRun: `${RULE_RUN_SELECT} WHERE r.id = ?`,
  takeExpiredRuleRuns: `UPDATE rule_run SET owner = ?, lease_until = ?
    WHERE id IN (SELECT id FROM rule_run WHERE status IN ('queued', 'running')
      AND lease_until < ? ORDER BY lease_until LIMIT ?)
    ${RULE_RUN_RETURNING}`,
  deleteRuleRunsBefore: `DELETE FROM rule_run WHERE id IN (SELECT id FROM rule_run
    WHERE id < ? AND ${FINISHED_RULE_RUN} ORDER BY id LIMIT ?)
    RETURNING event_id`,
  deleteUnusedRuleEvent: `DELETE FROM rule_event
    WHERE id = ? AND NOT EXISTS (SELECT 1 FROM rule_run WHERE event_id = ?)`,

  insertEventType: `INSERT INTO event_type (name, description, schemas, archived, deprecated,
      feature_flag, group_name, created_at, updated_at)
    VALUES (@name, @description, @schemas, @archived, @deprecated, @feature_flag, @group_name,
      @created_at, @updated_at)`,
  getEventType: "SELECT * FROM event_type WHERE name = ?",
  updateEventType: `UPDATE event_type SET description = @description, schemas = @schemas,
    archived = @archived, deprecated = @deprecated, feature_flag = @feature_flag,
    group_name = @group_name, updated_at = @updated_at WHERE name = @name`,

  insertEndpoint: `INSERT INTO endpoint (id, app_id, uid, url, description, version, disabled,
      filter_types, channels, rate_limit, metadata, headers, secret, previous_secrets,
      payload_filter, accept_302, failing_since, auth, auth_secret, tls, tls_client_key,
      created_at, updated_at)
    VALUES (@id, @app_id, @uid, @url, @description, @version, @disabled, @filter_types, @channels,
      @rate_limit, @metadata, @headers, @secret, @previous_secrets, @payload_filter, @accept_302,
      @failing_since, @auth, @auth_secret, @tls, @tls_client_key, @created_at, @updated_at)`,
  getEndpointById: "SELECT * FROM endpoint WHERE app_id = ? AND id = ?",
  getEndpointByUid: "SELECT * FROM endpoint WHERE app_id = ? AND uid = ?",
  listAllEndpoints: "SELECT * FROM endpoint WHERE app_id = ? ORDER BY id",
  updateEndpoint: `UPDATE endpoint SET uid = @uid, url = @url, description = @description,
    version = @version, disabled = @disabled, filter_types = @filter_types, channels = @channels,
    rate_limit = @rate_limit, metadata = @metadata, headers = @headers, secret = @secret,
    previous_secrets = @previous_secrets, payload_filter = @payload_filter,
    accept_302 = @accept_302, auth = @auth, auth_secret = @auth_secret, tls = @tls,
    tls_client_key = @tls_client_key,
    failing_since = @failing_since, updated_at = @updated_at
    WHERE id = @id AND app_id = @app_id`,
  deleteEndpoint: "DELETE FROM endpoint WHERE app_id = ? AND id = ?",
  updateEndpointFailingSince: `UPDATE endpoint SET failing_since = ?, updated_at = ?
    WHERE app_id = ? AND id = ?`,
  disableEndpoint: "UPDATE endpoint SET disabled = 1, updated_at = ? WHERE app_id = ? AND id = ?",
  cancelOpenDeliveriesOfEndpoint: `UPDATE delivery SET status = 'cancelled',
    next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL
    WHERE endpoint_id = ? AND ${OPEN_DELIVERY}`,

  // The four hot-path writes bind positionally (delivery-rows.ts `*Params`, in column order):
  // binding an object makes the driver look every named parameter up by name, about twice the
  // cost of the statement's own work for a 15-column insert.
  insertMessage: `INSERT INTO message (id, app_id, event_type, event_id, channels, tags, payload,
      inbound_request_id, deliver_at, created_at, traceparent)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  getMessage: "SELECT * FROM message WHERE id = ? AND app_id = ?",
  // Ids are time-sortable (ids.ts): the window is an id range of the message_app index.
  listMessagesWithoutDelivery: `SELECT * FROM message m
    WHERE m.app_id = ? AND m.id > ? AND m.id < ? AND m.created_at >= ? AND m.created_at < ?
      AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.msg_id = m.id AND d.endpoint_id = ?)
    ORDER BY m.id LIMIT ?`,
  expungeMessage: "UPDATE message SET payload = '' WHERE id = ? AND app_id = ?",
  cancelOpenDeliveriesOfMessage: `UPDATE delivery SET status = 'cancelled',
    next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL, updated_at = ?
    WHERE msg_id = ? AND ${OPEN_DELIVERY}`,
  countDeliveriesByApp: `SELECT app_id, count(*) AS n FROM delivery
    WHERE created_at >= ? AND created_at < ? GROUP BY app_id ORDER BY app_id`,
  expungeAttempt: `UPDATE attempt SET response_body = ?, response_headers = NULL
    WHERE id = ? AND app_id = ?`,
  insertBackgroundTask: `INSERT INTO background_task (id, task, status, data, created_at, updated_at)
    VALUES (@id, @task, @status, @data, @created_at, @updated_at)`,
  updateBackgroundTask: `UPDATE background_task SET status = @status, data = @data,
    updated_at = @updated_at WHERE id = @id`,
  getBackgroundTask: "SELECT * FROM background_task WHERE id = ?",
  runningBackgroundTasks: "SELECT * FROM background_task WHERE status = 'running'",
  findMessageByEventId: `SELECT * FROM message
    WHERE app_id = ? AND event_id = ? AND created_at >= ? ORDER BY created_at LIMIT 1`,

  insertDelivery: `INSERT INTO delivery (id, msg_id, endpoint_id, app_id, status, attempts,
      next_attempt_at, lease_owner, lease_until, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  getDelivery: "SELECT * FROM delivery WHERE msg_id = ? AND endpoint_id = ?",
  listDeliveriesOfMessage: "SELECT * FROM delivery WHERE msg_id = ? ORDER BY id",
  listOpenDeliveriesOfEndpoint: `SELECT * FROM delivery WHERE endpoint_id = ? AND ${OPEN_DELIVERY}
    ORDER BY id`,
  listFailedDeliveries: `SELECT * FROM delivery WHERE endpoint_id = ? AND status = 'failed'
    AND created_at >= ? AND created_at < ? ORDER BY created_at, id`,
  updateDelivery: `UPDATE delivery SET status = ?, attempts = ?, next_attempt_at = ?,
    lease_owner = ?, lease_until = ?, updated_at = ? WHERE id = ? AND ${deliveryGuardSql("?", "?")}`,
  // Oldest due first; the partial index yields rows in next_attempt_at order.
  selectDue: `${DELIVERY_MESSAGE_SELECT}
    WHERE d.${OPEN_DELIVERY} AND d.next_attempt_at <= @now
      AND (d.lease_until IS NULL OR d.lease_until <= @now)
      AND d.endpoint_id NOT IN (SELECT value FROM json_each(@skip))
    ORDER BY d.next_attempt_at LIMIT @limit`,
  anyDue: `SELECT 1 FROM delivery
    WHERE ${OPEN_DELIVERY} AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)
      AND endpoint_id NOT IN (SELECT value FROM json_each(@skip))
    LIMIT 1`,
  setLease: "UPDATE delivery SET lease_owner = ?, lease_until = ? WHERE id = ?",
  renewLease: "UPDATE delivery SET lease_until = ? WHERE id = ? AND lease_owner = ?",
  releaseForeignLeases: `UPDATE delivery SET lease_owner = NULL, lease_until = NULL
    WHERE ${OPEN_DELIVERY} AND lease_owner IS NOT NULL AND lease_owner != ?`,
  nextDueAt: `SELECT next_attempt_at FROM delivery
    WHERE ${OPEN_DELIVERY} AND next_attempt_at IS NOT NULL AND lease_owner IS NULL
    ORDER BY next_attempt_at LIMIT 1`,
  endpointStats: `SELECT status, count(*) AS n FROM delivery
    WHERE endpoint_id = ? AND created_at >= ? AND created_at < ? GROUP BY status`,

  insertAttempt: `INSERT INTO attempt (id, delivery_id, msg_id, endpoint_id, app_id, url, succeeded,
      response_status_code, response_body, response_headers, duration_ms, error_class,
      error_message, trigger, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  getAttempt: "SELECT * FROM attempt WHERE id = ? AND app_id = ?",

  pruneAttempts:
    "DELETE FROM attempt WHERE id IN (SELECT id FROM attempt WHERE id < ? ORDER BY id LIMIT ?)",
  pruneDeliveries: `DELETE FROM delivery WHERE id IN (SELECT id FROM delivery
    WHERE id < ? AND NOT ${OPEN_DELIVERY} ORDER BY id LIMIT ?)`,
  pruneInboundRequests: `DELETE FROM inbound_request WHERE id IN (SELECT r.id FROM inbound_request r
    WHERE r.id < ? AND NOT EXISTS (SELECT 1 FROM message m WHERE m.inbound_request_id = r.id)
    ORDER BY r.id LIMIT ?)`,
  pruneBackgroundTasks: `DELETE FROM background_task WHERE id IN (SELECT id FROM background_task
    WHERE id < ? AND status <> 'running' ORDER BY id LIMIT ?)`,
  pruneMessages: `DELETE FROM message WHERE id IN (SELECT m.id FROM message m
    WHERE m.id < ? AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.msg_id = m.id)
    ORDER BY m.id LIMIT ?)`,

  getIdempotency: "SELECT * FROM idempotency WHERE key = ?",
  putIdempotency: `INSERT OR IGNORE INTO idempotency (key, status_code, body, created_at)
    VALUES (@key, @status_code, @body, @created_at)`,
  pruneIdempotency: "DELETE FROM idempotency WHERE created_at < ?",
} as const;

export type Statements = { readonly [K in keyof typeof SQL]: SqliteStatement };

export function prepareStatements(db: SqliteDatabase): Statements {
  const entries = Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)] as const);
  // Object.fromEntries loses the key set; `SQL`'s keys are exactly the entries built above.
  return Object.fromEntries(entries) as Statements;
}

/** What the synchronous operation functions (catalog-ops, message-ops, attempt-ops) run on. */
export interface SqliteContext {
  readonly s: Statements;
  readonly listings: ListingQueries;
  /** Seals the secrets written and opens those read (rows/secret-rows.ts says which). */
  readonly box: SecretBox;
}
