/** The slice of a pino logger the SQLite adapter writes to (fields first, fixed message). */
export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const SILENT_LOGGER: StoreLogger = {
  info: () => undefined,
  warn: () => undefined,
};
