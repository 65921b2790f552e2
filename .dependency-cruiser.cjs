// Layer rules of src/, checked by `npm test` (test/layers.test.ts) and by `npx depcruise src
// migrations --config .dependency-cruiser.cjs`. Each layer imports only from the layers below
// it; the four in the middle do not import each other; no import cycle anywhere. Type-only
// imports count: they tie modules together as much as any other.
//
//   cli → commands → features → engine → {http, state, sources, storage} → model
const LAYERS = [
  { name: 'cli', path: '^src/cli\\.ts$' },
  { name: 'commands', path: '^src/commands/' },
  { name: 'features', path: '^src/(features|demo)/' },
  { name: 'engine', path: '^src/engine/' },
  { name: 'http', path: '^src/http/', peer: true },
  { name: 'state', path: '^(src/state/|migrations/)', peer: true },
  { name: 'sources', path: '^src/sources/', peer: true },
  { name: 'storage', path: '^src/storage/', peer: true },
  { name: 'model', path: '^src/(model|util)/|^src/(errors|version|log)\\.ts$' },
];

const forbidden = [
  { name: 'no-cycle', severity: 'error', comment: 'modules must not import each other, even through others', from: {}, to: { circular: true } },
];
LAYERS.forEach((layer, i) => {
  const above = LAYERS.slice(0, i).filter((l) => !(layer.peer && l.peer));
  const peers = layer.peer ? LAYERS.filter((l) => l.peer && l !== layer) : [];
  for (const other of [...above, ...peers]) {
    forbidden.push({
      name: `${layer.name}-not-to-${other.name}`,
      severity: 'error',
      comment: `${layer.name} may not import ${other.name} (${peers.includes(other) ? 'a peer' : 'a layer above it'})`,
      from: { path: layer.path },
      to: { path: other.path },
    });
  }
});

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test|fixtures)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6'],
  },
};
