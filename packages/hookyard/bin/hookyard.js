#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (root `prepare` script).
import("../dist/cli/main.js").then(
  (cli) => cli.main(process.argv.slice(2)),
  (err) => {
    process.stderr.write(
      `hookyard: cannot load the compiled CLI (${String(err)}). Run \`npm install\` or \`npm run build\` at the repository root.\n`,
    );
    process.exit(1);
  },
);
