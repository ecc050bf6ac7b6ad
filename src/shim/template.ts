/**
 * The shim's C templates: templates/shim/*.c.tmpl, compiled into templates.generated.ts so
 * that tsx, mocha and the esbuild bundle read the same strings without a loader or the file
 * system. A template is split into sections by lines `/*@ <kind> <name> *\/`; text before the
 * first marker is a comment about the template. `{{name}}` placeholders are filled only with
 * pieces the generator has escaped or built itself.
 */
import { TEMPLATES } from '../templates/templates.generated.ts';

export type SectionKind = 'text' | 'core' | 'symbol' | 'route';

export interface Template {
  name: string;
  sections: Map<string, string>;
}

const MARKER = /^\/\*@ (text|core|symbol|route) (\S+) \*\/$/;
const cache = new Map<string, Template>();

export function parseTemplate(name: string, text: string): Template {
  const sections = new Map<string, string>();
  let key: string | undefined;
  let body: string[] = [];
  const flush = () => {
    if (key === undefined) return;
    if (sections.has(key)) throw new Error(`template ${name}: section ${key} twice`);
    sections.set(key, body.join('\n').trim());
  };
  for (const line of text.split('\n')) {
    const m = MARKER.exec(line);
    if (m) {
      flush();
      key = `${m[1]} ${m[2]}`;
      body = [];
    } else {
      body.push(line);
    }
  }
  flush();
  return { name, sections };
}

export function template(name: string): Template {
  let t = cache.get(name);
  if (!t) {
    const text = TEMPLATES[`shim/${name}.c.tmpl`];
    if (text === undefined) throw new Error(`no shim template ${name}.c.tmpl`);
    t = parseTemplate(name, text);
    cache.set(name, t);
  }
  return t;
}

export function section(t: Template, kind: SectionKind, name: string): string | undefined {
  return t.sections.get(`${kind} ${name}`);
}

export function requireSection(t: Template, kind: SectionKind, name: string): string {
  const s = section(t, kind, name);
  if (s === undefined) throw new Error(`template ${t.name}.c.tmpl has no section '${kind} ${name}'`);
  return s;
}

/** Fills every {{name}}; a missing or unused value is a bug in the generator. */
export function fill(text: string, values: Record<string, string>): string {
  const used = new Set<string>();
  const out = text.replace(/\{\{([a-z_]+)\}\}/g, (_m, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`template placeholder {{${k}}} has no value`);
    used.add(k);
    return v;
  });
  for (const k of Object.keys(values)) if (!used.has(k)) throw new Error(`template value ${k} is never used`);
  return out;
}
