#!/usr/bin/env node
// The dependency rule check (part of `npm test`): cruises src/, electron/ and renderer/ of the current
// folder with dependency-cruiser against .dependency-cruiser.mjs (the folder direction of
// docs/architecture.md), and counts folder cycles. Exit 1 on any violation or folder cycle.
// `--json` prints the figures as one JSON line (the test and the architecture note use it).
import { existsSync } from 'node:fs';
import { cruise } from 'dependency-cruiser';
import rules, { MAY_IMPORT, folderOf } from '../.dependency-cruiser.mjs';

/** Elementary cycles of a small directed graph (folders), each as a list of nodes; brute force is enough here. */
export function cycles(edges) {
  const nodes = [...new Set([...edges.keys(), ...[...edges.values()].flatMap((s) => [...s])])].sort();
  const found = [];
  nodes.forEach((start, i) => {
    // only cycles whose smallest node is `start`, so each is found once
    const walk = (node, path) => {
      for (const next of edges.get(node) ?? []) {
        if (next === start) found.push([...path]);
        else if (nodes.indexOf(next) > i && !path.includes(next)) walk(next, [...path, next]);
      }
    };
    walk(start, [start]);
  });
  return found;
}

const tableCycles = cycles(new Map(Object.entries(MAY_IMPORT).map(([f, to]) => [f, new Set(to)])));
if (tableCycles.length) {
  console.error(`.dependency-cruiser.mjs: the folder table itself has a cycle: ${tableCycles.map((c) => c.join(' -> ')).join('; ')}`);
  process.exit(1);
}

const roots = ['src', 'electron', 'renderer'].filter((d) => existsSync(d));
const { output } = await cruise(roots, { ...rules.options, ruleSet: { forbidden: rules.forbidden }, validate: true });

const edges = new Map();
for (const mod of output.modules) {
  const a = folderOf(mod.source);
  for (const dep of mod.dependencies) {
    const b = folderOf(dep.resolved);
    if (a && b && a !== b) edges.set(a, (edges.get(a) ?? new Set()).add(b));
  }
}
const folderCycles = cycles(edges);
const violations = output.summary.violations.filter((v) => v.rule.severity === 'error');

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ modules: output.modules.length, violations: violations.length, folderCycles: folderCycles.length }));
}
for (const v of violations) console.error(`${v.rule.name}: ${v.from} -> ${v.to}${v.cycle ? ` (cycle: ${v.cycle.map((c) => c.name ?? c).join(' -> ')})` : ''}`);
for (const c of folderCycles) console.error(`folder cycle: ${[...c, c[0]].join(' -> ')}`);
if (violations.length || folderCycles.length) {
  console.error(`dependency check: ${violations.length} violation(s), ${folderCycles.length} folder cycle(s); see docs/architecture.md`);
  process.exit(1);
}
console.error(`dependency check: ${output.modules.length} modules, no violations, no folder cycles`);
