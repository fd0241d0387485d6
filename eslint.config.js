// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * ESLint (flat config) for the workspace. Formatting is Prettier's job (`npm run lint` runs both).
 * The per-folder rules below turn STYLE.md 2.3 (dependency direction), 2.5 (config), 2.6 (time,
 * randomness) and 2.7 (no console in library code) into lint errors.
 */

const SRC = "packages/hookyard/src";
const TEST = "packages/hookyard/test";

/** Node globals for the plain JavaScript files (bin/, bench/); TypeScript files get them from @types/node. */
const NODE_GLOBALS = Object.fromEntries(
  [
    "AbortController",
    "AbortSignal",
    "Buffer",
    "URL",
    "URLSearchParams",
    "TextDecoder",
    "TextEncoder",
    "clearImmediate",
    "clearInterval",
    "clearTimeout",
    "console",
    "fetch",
    "performance",
    "process",
    "queueMicrotask",
    "setImmediate",
    "setInterval",
    "setTimeout",
    "structuredClone",
  ].map((name) => [name, "readonly"]),
);

const CLOCK_MESSAGE = "use the injected Clock (src/clock.ts) so tests can drive time";

/** Imports that would break the dependency direction of STYLE 2.3. */
const UNDICI = {
  name: "undici",
  message: "only src/delivery/http-sender.ts talks HTTP to the outside world (DESIGN principle 1)",
};
const STORE_ADAPTERS = {
  group: ["**/store/sqlite", "**/store/sqlite/**", "**/store/postgres", "**/store/postgres/**"],
  message: "depend on the Store interface (store/store.ts); only src/main.ts builds an adapter",
};
const DRIVERS = ["better-sqlite3", "pg", "kysely"].map((name) => ({
  name,
  message: "database drivers belong in the store adapters (store/sqlite, store/postgres)",
}));
const FASTIFY = { name: "fastify", message: "domain code knows no HTTP framework; see src/http/" };
/** Loaded on demand, only when tracing is on: an import elsewhere would load it for everyone. */
const OPENTELEMETRY = {
  group: ["@opentelemetry/*"],
  message:
    "only src/observability/tracing.ts uses OpenTelemetry; take a seam (delivery/attempt-tracer.ts, http/request-spans.ts)",
};

/** Domain code (STYLE 2.3): no framework, no driver, no adapter. */
const DOMAIN_FILES = [
  `${SRC}/outbound/**/*.ts`,
  `${SRC}/delivery/**/*.ts`,
  `${SRC}/signing/**/*.ts`,
  `${SRC}/debug/**/*.ts`,
  `${SRC}/model.ts`,
  `${SRC}/errors.ts`,
];

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/node_modules/**",
      "**/coverage/**",
      "bench/results/**",
      "**/*.tsbuildinfo",
      ".hookyard/**",
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
  },

  // Plain JavaScript (bin/, bench/, this file): the recommended JS rules only.
  {
    files: ["**/*.{js,mjs,cjs}"],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: NODE_GLOBALS },
  },

  // TypeScript: type-aware rules (they catch the un-awaited write that loses a delivery).
  {
    files: ["**/*.{ts,mts,cts}"],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/ban-ts-comment": [
        "error",
        {
          "ts-ignore": true,
          "ts-expect-error": "allow-with-description",
          minimumDescriptionLength: 5,
        },
      ],
      "@typescript-eslint/consistent-type-imports": [
        "error",
        { prefer: "type-imports", fixStyle: "separate-type-imports" },
      ],
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
    },
  },

  // Config files (vitest.config.ts, ...) sit outside every tsconfig: lint them without types.
  {
    files: ["**/*.config.{ts,mts,cts}"],
    extends: [tseslint.configs.disableTypeChecked],
  },

  // Library code: no console (only cli/ writes to the terminal), no real timers or fetch,
  // no process.env outside config/ and cli/ (STYLE 2.5–2.7).
  {
    files: [`${SRC}/**/*.ts`],
    rules: {
      "no-console": "error",
      // clock.ts is the one exception; it says so on the line with an eslint-disable comment.
      "no-restricted-globals": [
        "error",
        { name: "setTimeout", message: CLOCK_MESSAGE },
        { name: "setInterval", message: CLOCK_MESSAGE },
        {
          name: "fetch",
          message: "outgoing HTTP goes through the delivery engine (delivery/http-sender.ts)",
        },
      ],
      "no-restricted-properties": [
        "error",
        {
          object: "process",
          property: "env",
          message: "only config/ reads the environment; take your slice of Config instead",
        },
      ],
    },
  },
  {
    // The dashboard shows what senders chose (payloads, headers, bodies): as text only.
    files: ["packages/hookyard/ui/**/*.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        ...["innerHTML", "outerHTML", "insertAdjacentHTML", "write", "writeln"].map((property) => ({
          property,
          message: "build DOM with ui/src/dom.ts h(): strings become text nodes, never HTML",
        })),
      ],
    },
  },
  {
    files: [`${SRC}/cli/**/*.ts`],
    rules: { "no-console": "off" },
  },
  {
    files: [`${SRC}/config/**/*.ts`, `${SRC}/cli/**/*.ts`],
    rules: { "no-restricted-properties": "off" },
  },
  {
    files: [`${SRC}/**/*.ts`],
    ignores: [`${SRC}/clock.ts`, `${SRC}/ids.ts`, `${SRC}/main.ts`],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "MemberExpression[object.name='Date'][property.name='now']",
          message: `${CLOCK_MESSAGE}: clock.now()`,
        },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: `${CLOCK_MESSAGE}: new Date(clock.now())`,
        },
        {
          selector: "MemberExpression[object.name='Math'][property.name='random']",
          message: "use the injected `random: () => number` so jitter is testable",
        },
      ],
    },
  },

  // Dependency direction (STYLE 2.3). ESLint replaces, not merges, a rule's options when several
  // blocks match a file, so each block below lists the full set for its folder; the last match wins.
  {
    files: [`${SRC}/**/*.ts`],
    rules: { "no-restricted-imports": ["error", { paths: [UNDICI], patterns: [OPENTELEMETRY] }] },
  },
  {
    files: [`${SRC}/observability/tracing.ts`],
    rules: { "no-restricted-imports": ["error", { paths: [UNDICI] }] },
  },
  {
    files: [`${SRC}/http/**/*.ts`],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [UNDICI, ...DRIVERS], patterns: [STORE_ADAPTERS, OPENTELEMETRY] },
      ],
    },
  },
  {
    files: DOMAIN_FILES,
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [UNDICI, FASTIFY, ...DRIVERS], patterns: [STORE_ADAPTERS, OPENTELEMETRY] },
      ],
    },
  },
  {
    files: [`${SRC}/delivery/http-sender.ts`],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [FASTIFY, ...DRIVERS], patterns: [STORE_ADAPTERS, OPENTELEMETRY] },
      ],
    },
  },

  // Tests synchronise on events, never on sleeps (STYLE 3).
  {
    files: [`${TEST}/**/*.ts`],
    rules: {
      // vitest's asymmetric matchers (expect.any, expect.objectContaining) are typed `any`.
      "@typescript-eslint/no-unsafe-assignment": "off",
      "no-restricted-globals": [
        "error",
        {
          name: "setTimeout",
          message:
            "no sleeps in tests; await an event or vi.waitFor / expect.poll with a timeout (a helper may disable this per line with a reason)",
        },
      ],
    },
  },
);
