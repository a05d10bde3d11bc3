// Loads an rcgc heap snapshot with memlab's parser (@memlab/core, someone
// else's reader of the V8 format) and checks what DevTools would show.
// Usage: node check.js <snapshot of planted.c>
'use strict';
const assert = require('assert');
const {utils, config, TraceFinder} = require('@memlab/core');

async function main() {
  config.verbose = false;
  const snap = await utils.getSnapshotFromFile(process.argv[2], {buildNodeIdIndex: true});
  const nodes = [];
  snap.nodes.forEach(n => { nodes.push(n); });
  // root, (held from outside), App, Registry, Entry, Planted, (weakref),
  // Cycle, Cycle, the untracked leaf "(object)"
  assert.strictEqual(snap.nodes.length, 10, 'node count');
  // root->held, App->Registry, Registry->Entry, Registry->leaf,
  // Entry=>Planted, weakref~>Planted, Cycle->Cycle x2, held->App, held->weakref
  assert.strictEqual(snap.edges.length, 10, 'edge count');
  const names = nodes.map(n => n.name).sort();
  assert.deepStrictEqual(names, ['', '(held from outside)', '(object)', '(weakref)', 'App',
    'Cycle', 'Cycle', 'Entry', 'Planted', 'Registry'].sort(), 'node names');
  const byName = name => nodes.find(n => n.name === name);
  assert.strictEqual(byName('(held from outside)').type, 'synthetic');
  assert.strictEqual(byName('App').type, 'object');
  assert.strictEqual(byName('App').self_size, 48, 'self size: header + 1 field, as allocated');

  const weak = [];
  const internal = [];
  snap.edges.forEach(e => {
    if (e.type === 'weak') weak.push(e);
    if (e.type === 'internal') internal.push(e);
  });
  assert.strictEqual(weak.length, 1, 'one weak edge');
  assert.strictEqual(weak[0].fromNode.name, '(weakref)');
  assert.strictEqual(weak[0].toNode.name, 'Planted');
  assert.strictEqual(weak[0].name_or_index, 'target');
  assert.strictEqual(internal.length, 1, 'one payload edge');
  assert.strictEqual(internal[0].fromNode.name, 'Entry');
  assert.strictEqual(internal[0].name_or_index, 'payload');
  const registry = byName('Registry');
  assert.deepStrictEqual(registry.references.map(e => [e.type, e.name_or_index, e.toNode.name]),
    [['element', 0, 'Entry'], ['element', 1, '(object)']], 'fields as element edges by index');

  // The retainer path of the planted object, as DevTools' retainers view
  // reads it: from the root through "(held from outside)", never through
  // the weak edge.
  const finder = new TraceFinder();
  finder.annotateShortestPaths(snap);
  const planted = byName('Planted');
  let path = finder.getPathToGCRoots(snap, planted);
  const chain = [];
  for (; path; path = path.next) chain.push(path.node.name);
  assert.deepStrictEqual(chain, ['', '(held from outside)', 'App', 'Registry', 'Entry', 'Planted'],
    'retainer path');
  // The garbage cycle is not reachable from the root.
  assert.strictEqual(finder.getPathToGCRoots(snap, byName('Cycle')), null, 'garbage has no path');
  console.log('heapsnapshot: memlab read ' + snap.nodes.length + ' nodes, ' + snap.edges.length +
    ' edges; retainer path: ' + chain.slice(1).join(' -> '));
}

main().catch(e => { console.error(e); process.exit(1); });
