import { describe } from "vitest";
import { openTempPgStore, postgresUnavailable } from "../helpers/temp-postgres.js";
import { describeStoreContract } from "./store.contract.js";

const unavailable = await postgresUnavailable();

describe.skipIf(unavailable !== null)("postgres", () => {
  describeStoreContract("postgres", openTempPgStore);
});
