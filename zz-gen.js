const ts = require('typescript'); const fs = require('fs');
const src = fs.readFileSync('zz-old/resources.ts', 'utf8');
const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
fs.writeFileSync('zz-old/resources.js', js);
const pulumi = require('@pulumi/pulumi');
const { providerFor } = require('./zz-old/resources.js');
(async () => {
  const out = {};
  for (const kind of ['warehouse', 'app']) {
    const provider = providerFor(kind);
    out[kind] = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
  }
  console.log(JSON.stringify(out, null, 1)); console.error(out.app.length, out.warehouse.length);
})();
