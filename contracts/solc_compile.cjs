// Runs solc-js in standard-JSON mode.
// Usage: node solc_compile.cjs <solc package dir> [--version]
//   stdin:  standard-JSON input
//   stdout: {"version": "<solc version>", "output": <standard-JSON output>}
"use strict";
const solc = require(process.argv[2]);
if (process.argv[3] === "--version") {
  process.stdout.write(solc.version() + "\n");
  process.exit(0);
}
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const input = Buffer.concat(chunks).toString("utf8");
  const output = JSON.parse(solc.compile(input));
  process.stdout.write(JSON.stringify({ version: solc.version(), output: output }));
});
