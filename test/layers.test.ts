/**
 * The layers of docs/DESIGN (cli and server outside, core under them, redis under core,
 * errors a leaf) point one way, and no module of src/ takes part in an import cycle. Read
 * from the import statements of every file in src/ (type-only imports too: a cycle of
 * types is still a cycle a reader has to untangle), so that a new import that breaks a
 * rule fails here, naming the file.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');

/** Module name (path under the repository, e.g. `src/cli/main.ts`) -> the src/ modules it imports. */
type ImportGraph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The file a relative specifier names: `./x.js` is `./x.ts` in the sources (NodeNext). */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined; // a package or node: builtin
  const path = resolve(dirname(from), specifier);
  for (const candidate of [path.replace(/\.js$/, '.ts'), path, join(path, 'index.ts')]) {
    if (existsSync(candidate) && candidate.endsWith('.ts')) return candidate;
  }
  return undefined; // JSON, Lua and other non-modules are no layer
}

function importGraph(): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of sourceFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const imports = importedFiles
      .map(({ fileName }) => resolveSpecifier(file, fileName))
      .filter((target): target is string => target !== undefined)
      .map((target) => relative(ROOT, target));
    graph.set(relative(ROOT, file), [...new Set(imports)]);
  }
  return graph;
}

/**
 * Cycles of the graph, as the modules along each (the first repeated last): at least one
 * through every knot of modules that import each other, enough to fail on any.
 */
function findCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (module: string) => {
    const at = onPath.indexOf(module);
    if (at >= 0) {
      cycles.push([...onPath.slice(at), module]);
      return;
    }
    if (done.has(module)) return;
    onPath.push(module);
    for (const target of graph.get(module) ?? []) visit(target);
    onPath.pop();
    done.add(module);
  };
  for (const module of [...graph.keys()].sort()) visit(module);
  return cycles;
}

/** Outer layers may import inner ones, never the reverse: importer folder -> folders it must not import. */
const FORBIDDEN: [layer: string, mustNotImport: string[]][] = [
  ['src/redis/', ['src/core/', 'src/cli/', 'src/server/', 'src/client/', 'src/index.ts']],
  ['src/core/', ['src/cli/', 'src/server/', 'src/client/', 'src/index.ts']],
  ['src/server/', ['src/cli/']],
  // The client runs in browsers: it uses the library's types and errors, never its Redis side.
  ['src/client/', ['src/cli/', 'src/server/', 'src/core/', 'src/redis/']],
];

/**
 * Imports that break a rule today and are known to: [importing folder or file, module].
 * Each says why, and goes once the reason does: an exception no import needs any more
 * fails the test too, so the list cannot outlive its reasons.
 */
const KNOWN_EXCEPTIONS: [from: string, to: string][] = [];

/** What a file of src/cli/ may import outside src/cli/: the library's public entries only. */
const CLI_MAY_IMPORT = [
  'src/index.ts',
  'src/server/index.ts',
  'src/server/options.ts',
  'src/client/index.ts',
];

/** Every import that breaks a layer rule, as `from -> to`. */
function layerViolations(graph: ImportGraph): string[] {
  const violations: string[] = [];
  for (const [from, imports] of graph) {
    for (const to of imports) {
      const excepted = KNOWN_EXCEPTIONS.some(([f, t]) => from.startsWith(f) && t === to);
      for (const [layer, forbidden] of FORBIDDEN) {
        if (from.startsWith(layer) && forbidden.some((f) => to.startsWith(f)) && !excepted)
          violations.push(`${from} -> ${to} (${layer} must not import ${to})`);
      }
      // The leaf of every layer: it imports no module of src/.
      if (from === 'src/errors.ts') violations.push(`${from} -> ${to} (errors is a leaf)`);
      if (from.startsWith('src/cli/') && !to.startsWith('src/cli/') && !CLI_MAY_IMPORT.includes(to))
        violations.push(
          `${from} -> ${to} (the CLI uses the library through ${CLI_MAY_IMPORT.join(' or ')})`,
        );
      // main.ts imports every command: a module of src/ importing it makes a cycle or a knot.
      if (to === 'src/cli/main.ts' && from !== 'src/cli/bin.ts')
        violations.push(`${from} -> ${to} (only bin.ts and tests import main.ts)`);
    }
  }
  return violations;
}

/**
 * Imports of src/index.ts by src/client/ that are not `import type`: loading the entry
 * would load node-redis, which a browser cannot (types are erased, and cost nothing).
 */
function clientValueImportsOfTheEntry(): string[] {
  return sourceFiles(join(SRC, 'client')).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    const imports = text.match(/^import\s[^;]*?from\s+'[^']+';/gms) ?? [];
    return imports
      .filter((statement) => /from\s+'\.\.\/index\.js'/.test(statement))
      .filter((statement) => !/^import\s+type\s/.test(statement))
      .map(() => relative(ROOT, file));
  });
}

describe('the layers of src/', () => {
  const graph = importGraph();

  it('reads the sources it judges', () => {
    // Guards the checks below against passing on an empty or misread tree.
    assert.ok(graph.size > 40, `only ${graph.size} modules found under src/`);
    assert.ok(graph.get('src/cli/bin.ts')?.includes('src/cli/main.ts'), 'bin.ts imports main.ts');
    assert.ok(
      graph.get('src/cli/commands/send.ts')?.includes('src/cli/context.ts'),
      'type-only imports are read',
    );
  });

  it('has no import cycle', () => {
    assert.deepEqual(
      findCycles(graph).map((cycle) => cycle.join(' -> ')),
      [],
    );
  });

  it('never imports an outer layer from an inner one', () => {
    assert.deepEqual(layerViolations(graph), []);
  });

  it('has the client import only types from the library entry (its errors from src/errors.ts)', () => {
    assert.ok(graph.get('src/client/http.ts')?.includes('src/errors.ts'), 'the client is read');
    assert.deepEqual(clientValueImportsOfTheEntry(), []);
  });

  it('lists no exception that is no longer needed', () => {
    const stale = KNOWN_EXCEPTIONS.filter(
      ([from, to]) =>
        ![...graph].some(([module, imports]) => module.startsWith(from) && imports.includes(to)),
    );
    assert.deepEqual(stale, [], 'remove these from KNOWN_EXCEPTIONS');
  });

  it('finds a planted cycle and planted wrong-way imports (the checks can fail)', () => {
    const planted: ImportGraph = new Map([
      ['src/cli/main.ts', ['src/cli/commands/send.ts']],
      ['src/cli/commands/send.ts', ['src/cli/main.ts', 'src/core/validate.ts']],
      ['src/core/validate.ts', ['src/server/app.ts']],
      ['src/redis/connect.ts', ['src/core/keys.ts']],
      ['src/errors.ts', ['src/redis/connect.ts']],
    ]);
    assert.deepEqual(findCycles(planted), [
      ['src/cli/commands/send.ts', 'src/cli/main.ts', 'src/cli/commands/send.ts'],
    ]);
    assert.deepEqual(
      layerViolations(planted).map((violation) => violation.split(' (')[0]),
      [
        'src/cli/commands/send.ts -> src/cli/main.ts',
        'src/cli/commands/send.ts -> src/core/validate.ts',
        'src/core/validate.ts -> src/server/app.ts',
        'src/redis/connect.ts -> src/core/keys.ts',
        'src/errors.ts -> src/redis/connect.ts',
      ],
    );
  });
});
