import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_KEYS } from "../../src/config/keys.js";
import { configDefaults, loadConfig } from "../../src/config/load.js";

const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const EXAMPLE = "hookyard.example.yaml";

describe("hookyard.example.yaml", () => {
  it("loads to exactly the schema defaults", () => {
    const config = loadConfig({ env: {}, flags: {}, configFile: EXAMPLE, cwd: REPO_ROOT });
    expect(config).toEqual(configDefaults());
  });

  it("spells out every config key with its value instead of leaving it commented out", () => {
    const raw: unknown = parse(readFileSync(`${REPO_ROOT}${EXAMPLE}`, "utf8"));
    const written: string[] = [];
    // Groups (server.tls) are mappings; everything else, lists included, is a key's value.
    const walk = (at: string, body: Record<string, unknown>) => {
      for (const [name, value] of Object.entries(body)) {
        const path = at === "" ? name : `${at}.${name}`;
        if (typeof value === "object" && value !== null && !Array.isArray(value)) {
          walk(path, value as Record<string, unknown>);
        } else {
          written.push(path);
        }
      }
    };
    walk("", raw as Record<string, unknown>);
    expect(written).toEqual(CONFIG_KEYS.map((key) => key.path));
  });

  it("names the env var and flag of every key in its comments", () => {
    const text = readFileSync(`${REPO_ROOT}${EXAMPLE}`, "utf8");
    const missing = CONFIG_KEYS.filter((key) => !text.includes(`[${key.env}, ${key.flag}]`)).map(
      (key) => key.path,
    );
    expect(missing, "keys whose comment lacks [ENV, --flag]").toEqual([]);
  });
});
