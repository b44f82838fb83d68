// Validate AsyncAPI documents with the official @asyncapi/parser; print its diagnostics as JSON.
// Usage: node validate_asyncapi.cjs FILE... (NODE_PATH must reach the parser's node_modules).
"use strict";
const fs = require("fs");
const { Parser } = require("@asyncapi/parser");

async function main(files) {
  const parser = new Parser();
  const results = {};
  for (const file of files) {
    const diagnostics = await parser.validate(fs.readFileSync(file, "utf8"), { source: file });
    results[file] = diagnostics.map((d) => ({
      code: String(d.code),
      severity: d.severity, // 0 error, 1 warning, 2 information, 3 hint
      message: d.message,
      path: d.path.join("/"),
    }));
  }
  process.stdout.write(JSON.stringify(results));
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(2);
});
