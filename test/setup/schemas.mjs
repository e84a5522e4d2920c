// JSON schemas for kubeconform, made from what the reachable registries ship:
// Kubernetes' kinds from PyPI's kubernetes-validate (one shared _definitions.json,
// referenced by absolute path, which kubeconform cannot follow: each kind is made
// standalone here), and the Prometheus Operator's CRDs from its Go module.
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const DEFS_REF = /^(?:\/api\/_definitions\.json)?#\/\$defs\/(.+)$/;

/** Rewrites every $ref to #/$defs/<name> and collects the names. */
function localRefs(node, found) {
  if (Array.isArray(node)) return node.map((n) => localRefs(n, found));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    const m = k === '$ref' && typeof v === 'string' ? DEFS_REF.exec(v) : null;
    if (m) {
      found.add(m[1]);
      out[k] = `#/$defs/${m[1]}`;
    } else {
      out[k] = localRefs(v, found);
    }
  }
  return out;
}

/**
 * kubernetes-validate's `vX-local-strict` dir → kubeconform's `vX-standalone-strict`:
 * every top-level kind (one with apiVersion and kind) with the definitions it reaches.
 */
export function standaloneKinds(localDir, outDir) {
  const defs = JSON.parse(readFileSync(join(localDir, '_definitions.json'), 'utf8')).$defs;
  mkdirSync(outDir, { recursive: true });
  let n = 0;
  for (const file of readdirSync(localDir)) {
    if (!file.endsWith('.json') || file.startsWith('_') || file === 'all.json') continue;
    const schema = JSON.parse(readFileSync(join(localDir, file), 'utf8'));
    if (!schema.properties?.apiVersion || !schema.properties?.kind) continue;
    const seen = new Set();
    const pending = new Set();
    const root = localRefs(schema, pending);
    const $defs = {};
    while (pending.size > 0) {
      const [name] = pending;
      pending.delete(name);
      if (seen.has(name)) continue;
      seen.add(name);
      if (!defs[name]) throw new Error(`${file}: $ref to unknown definition ${name}`);
      const more = new Set();
      $defs[name] = localRefs(defs[name], more);
      for (const m of more) if (!seen.has(m)) pending.add(m);
    }
    writeFileSync(join(outDir, file), JSON.stringify({ ...root, $defs }));
    n++;
  }
  return n;
}

/** An OpenAPI v3 CRD schema → strict JSON schema, as kubeconform's openapi2jsonschema.py does. */
function strict(node) {
  if (Array.isArray(node)) return node.map(strict);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, strict(s)])) : strict(v);
  if (out['x-kubernetes-int-or-string']) {
    delete out.type;
    delete out.format;
    out.oneOf = [{ type: 'string' }, { type: 'integer' }];
  }
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  return out;
}

/** Every version of every CRD in crdDir → outDir/<group>/<kind>_<version>.json. */
export function crdSchemas(crdDir, outDir) {
  let n = 0;
  for (const file of readdirSync(crdDir)) {
    if (!/\.ya?ml$/.test(file)) continue;
    const crd = parse(readFileSync(join(crdDir, file), 'utf8'));
    if (crd?.kind !== 'CustomResourceDefinition') continue;
    const { group, names, versions } = crd.spec;
    mkdirSync(join(outDir, group), { recursive: true });
    for (const v of versions) {
      const schema = strict(v.schema.openAPIV3Schema);
      writeFileSync(join(outDir, group, `${names.kind.toLowerCase()}_${v.name}.json`), JSON.stringify(schema));
      n++;
    }
  }
  return n;
}
