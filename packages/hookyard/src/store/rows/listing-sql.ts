/** SQL pieces both adapters share for the listings and the expunge. */

/** The text an expunged attempt's response body is replaced with (Svix's). */
export const EXPUNGED_RESPONSE = "EXPUNGED";

/** SQL for a `status_code_class` on the column `column` (0 = no response: status 0..99). */
export function statusCodeClassSql(column: string, placeholder: string): string {
  return `${column} >= ${placeholder} AND ${column} < ${placeholder} + 100`;
}
