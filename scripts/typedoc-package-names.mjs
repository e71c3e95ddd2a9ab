/**
 * A TypeDoc plugin: each entry point's module is named after the package export that serves it
 * (`@breakwater/core/engine`, not `core/src/engine`), read from the packages' `exports` maps, so
 * the API reference uses the names a user imports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Converter, ReflectionKind } from 'typedoc';

/** Source file (absolute) -> import specifier, from every package's `breakwater-source` condition. */
function specifiersBySource(root) {
  const names = new Map();
  for (const dir of readdirSync(path.join(root, 'packages'))) {
    const manifest = path.join(root, 'packages', dir, 'package.json');
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    } catch {
      continue;
    }
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      const source = typeof target === 'object' ? target['breakwater-source'] : undefined;
      if (typeof source !== 'string') continue;
      const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, '')}`;
      names.set(path.resolve(path.dirname(manifest), source), specifier);
    }
  }
  return names;
}

export function load(app) {
  const names = specifiersBySource(process.cwd());
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const file = context.getSymbolFromReflection(reflection)?.declarations?.[0]?.getSourceFile().fileName;
    const specifier = file === undefined ? undefined : names.get(path.resolve(file));
    if (specifier !== undefined) reflection.name = specifier;
  });
}
