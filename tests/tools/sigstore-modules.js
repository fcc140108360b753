// What the Sigstore harnesses (sigstore-fakes-sign.js, verify-bundle.js)
// share: their command line, `<npm's node_modules dir> <input.json>`, and
// loading sigstore-js from that node_modules. Both exit 2 with a message on
// stderr when the arguments are missing or a module cannot be loaded.

'use strict';

const path = require('path');

// Reads the command line of `script` (`input` names its second argument in
// the usage line). Returns the input file's path and `load(name)`, which
// requires the module `name` from the given node_modules.
function harness(script, input) {
  const [nodeModules, inputPath] = process.argv.slice(2);
  if (!nodeModules || !inputPath) {
    process.stderr.write(`usage: ${script} <node_modules> <${input}>\n`);
    process.exit(2);
  }
  function load(name) {
    const dir = path.join(nodeModules, name);
    try {
      return require(dir);
    } catch (e) {
      process.stderr.write(`${script}: cannot load ${name} from ${dir}: ${e.message}\n`);
      process.exit(2);
    }
  }
  return { inputPath, load };
}

module.exports = { harness };
