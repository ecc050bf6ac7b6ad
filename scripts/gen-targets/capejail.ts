/** The x86_64 enclave (capejail): targets/enclave-x86_64.json from its code's allow list and its documentation. */
import { isKnownSyscall, syscallNumber } from '../../src/syscalls/table.ts';
import { assertKnown, fail, readData, src, type DenyEntry, type SyscallEntry, type Target } from './common.ts';

export const CJ_CODE_FILE = 'capejail-allowed.txt';
export const CJ_DOC1_FILE = 'capejail-syscalls-allowed-and-blocked.md';
export const CJ_DOC2_FILE = 'capejail-syscalls-blocked.md';

interface DocEntry {
  text: string;
  file: string;
}

/** Plain text of a markdown paragraph: links to their text, whitespace collapsed. */
function plain(s: string): string {
  return s
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Strips the danger mark (⚠ and its variation selectors) from a heading. */
function headingName(s: string): string {
  return s.replace(/\u26a0|\ufe0f/g, '').trim();
}

/** The markdown page: "## Blocked" / "## Allowed", "### name" entries, first paragraph = reason. */
function parseDocMarkdown(text: string): { blocked: Map<string, DocEntry>; allowed: Map<string, DocEntry> } {
  const blocked = new Map<string, DocEntry>();
  const allowed = new Map<string, DocEntry>();
  let section: Map<string, DocEntry> | undefined;
  let current: string | undefined;
  let para: string[] = [];
  let done = false;
  const flush = (): void => {
    if (current && section && para.length && !section.has(current)) {
      section.set(current, { text: plain(para.join(' ')), file: CJ_DOC1_FILE });
    }
  };
  for (const line of text.split('\n')) {
    const h2 = /^## (.+)$/.exec(line);
    const h3 = /^### (.+)$/.exec(line);
    if (h2) {
      flush();
      current = undefined;
      para = [];
      section = h2[1] === 'Blocked' ? blocked : h2[1] === 'Allowed' ? allowed : undefined;
    } else if (h3) {
      flush();
      current = headingName(h3[1]!);
      if (!/^[a-z_][a-z0-9_]*$/.test(current)) fail(`${CJ_DOC1_FILE}: odd heading ${JSON.stringify(h3[1])}`);
      para = [];
      done = false;
    } else if (line.trim() === '') {
      if (para.length) done = true;
    } else if (current && !done) {
      para.push(line.trim());
    }
  }
  flush();
  return { blocked, allowed };
}

/** The flattened GitHub page: after "Blocked", a name line then one-line paragraphs. */
function parseDocFlat(text: string): Map<string, DocEntry> {
  const blocked = new Map<string, DocEntry>();
  const lines = text.split('\n').map((l) => l.trim());
  const start = lines.indexOf('Blocked');
  if (start < 0) fail(`${CJ_DOC2_FILE}: "Blocked" heading not found`);
  let current: string | undefined;
  for (const line of lines.slice(start + 1)) {
    if (line === '') continue;
    const name = headingName(line);
    if (/^[a-z_][a-z0-9_]*$/.test(name)) {
      if (blocked.has(name)) fail(`${CJ_DOC2_FILE}: duplicate ${name}`);
      current = name;
      blocked.set(name, { text: '', file: CJ_DOC2_FILE });
    } else if (current && blocked.get(current)!.text === '') {
      blocked.set(current, { text: plain(line), file: CJ_DOC2_FILE });
    }
  }
  for (const [name, e] of blocked) if (!e.text) fail(`${CJ_DOC2_FILE}: ${name} has no reason`);
  return blocked;
}

/** "See X." resolved to X's own text, so a note stands alone. */
function resolveSee(text: string, docs: Map<string, DocEntry>): string {
  const m = /^See ([a-z_][a-z0-9_]*)\.?$/.exec(text);
  if (!m) return text;
  const target = docs.get(m[1]!);
  return target && target.text !== text ? `As ${m[1]}: ${resolveSee(target.text, docs)}` : text;
}

/** First sentences of a reason, about 200 characters at most. */
function shortReason(text: string): string {
  let out = '';
  for (const s of text.split(/(?<=[.!?])\s+/)) {
    if (out && out.length + 1 + s.length > 200) break;
    out = out ? `${out} ${s}` : s;
  }
  return out;
}

export interface CapejailResult {
  target: Target;
  /** Names blocked in one documentation version and not mentioned in the other. */
  oneVersionOnly: { name: string; file: string }[];
  codeCount: number;
  disagreements: { name: string; kind: string; detail: string }[];
  unknownDocNames: string[];
  absentOnX86: string[];
}

export function buildCapejail(): CapejailResult {
  const code = readData(CJ_CODE_FILE)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (code.length !== 263) fail(`${CJ_CODE_FILE}: ${code.length} names, expected 263`);
  if (new Set(code).size !== code.length) fail(`${CJ_CODE_FILE}: duplicate names`);
  for (const n of code) assertKnown(n, CJ_CODE_FILE);
  const codeSet = new Set(code);

  const doc1 = parseDocMarkdown(readData(CJ_DOC1_FILE));
  const doc2Blocked = parseDocFlat(readData(CJ_DOC2_FILE));
  if (doc1.allowed.size === 0 || doc1.blocked.size === 0 || doc2Blocked.size === 0) fail('capejail docs: empty section');

  // Documented blocked: both pages (the markdown page's text first).
  const blocked = new Map<string, DocEntry>(doc1.blocked);
  for (const [n, e] of doc2Blocked) if (!blocked.has(n)) blocked.set(n, e);
  const allDocs = new Map<string, DocEntry>([...doc1.allowed, ...blocked]);

  const disagreements: CapejailResult['disagreements'] = [];
  const unknownDocNames = new Set<string>();
  const deny = new Map<string, DenyEntry>();
  const excluded = new Set<string>();

  const allNames = [...new Set([...blocked.keys(), ...doc1.allowed.keys()])].sort();
  for (const name of allNames) {
    const b = blocked.get(name);
    const a = doc1.allowed.get(name);
    const inCode = codeSet.has(name);
    if (b && inCode) {
      const where = [doc1.blocked.has(name) ? CJ_DOC1_FILE : '', doc2Blocked.has(name) ? CJ_DOC2_FILE : ''].filter(Boolean);
      disagreements.push({
        name,
        kind: 'documented blocked, allowed in code',
        detail: `blocked in ${where.join(' and ')}: ${shortReason(resolveSee(b.text, allDocs))}`,
      });
      excluded.add(name);
      deny.set(name, {
        name,
        reason:
          `Docs and code disagree: capejail's documentation (${b.file}) lists ${name} as blocked ` +
          `("${shortReason(resolveSee(b.text, allDocs))}") but its source code's allow list includes it. Failing closed: denied.`,
      });
    } else if (a && !inCode) {
      const also = b ? ` and also as blocked (${b.file}: "${shortReason(b.text)}")` : '';
      disagreements.push({
        name,
        kind: b ? 'documented allowed and blocked, not in code' : 'documented allowed, not in code',
        detail: `allowed in ${a.file}${also}`,
      });
      if (!isKnownSyscall(name)) {
        unknownDocNames.add(name);
        continue;
      }
      deny.set(name, {
        name,
        reason:
          `Docs and code disagree: capejail's documentation (${a.file}) lists ${name} as allowed${also} but its ` +
          `source code's allow list leaves it out. Failing closed: denied.`,
      });
    } else if (a && b) {
      // Allowed in code and documented both ways: covered by the first branch (b && inCode).
      fail(`capejail: unexpected state for ${name}`);
    } else if (b) {
      if (!isKnownSyscall(name)) {
        unknownDocNames.add(name);
        continue;
      }
      deny.set(name, { name, reason: shortReason(resolveSee(b.text, allDocs)) });
    }
  }

  const absentOnX86 = code.filter((n) => syscallNumber('x86_64', n) === null);
  const syscalls: SyscallEntry[] = [];
  for (const name of code) {
    if (excluded.has(name)) continue;
    const e: SyscallEntry = { name };
    const a = doc1.allowed.get(name);
    const notes: string[] = [];
    if (a) notes.push(resolveSee(a.text, allDocs));
    if (absentOnX86.includes(name)) {
      notes.push("Not a syscall on x86_64 (capejail's code lists it; libseccomp resolves it to nothing there).");
    }
    if (notes.length) e.note = notes.join(' ');
    syscalls.push(e);
  }

  const deniedDisagree = disagreements.filter((d) => deny.has(d.name)).map((d) => d.name);
  const otherDisagree = disagreements.filter((d) => !deny.has(d.name)).map((d) => `${d.name} (${d.kind})`);
  const target: Target = {
    $schema: '../schemas/target.schema.json',
    id: 'enclave-x86_64',
    title: 'x86_64 enclave jail (capejail, AWS Nitro enclaves)',
    description:
      `capejail's seccomp allow list: the ${code.length} names its source code allows, with the reasons its ` +
      `documentation gives as notes. Where documentation and code disagree (${deniedDisagree.join(', ')}) sysgate fails ` +
      `closed: the name is left out of syscalls and put in deny with the disagreement recorded, so ${syscalls.length} ` +
      'calls are allowed.' +
      (otherDisagree.length ? ` Also disagreeing, but not in sysgate's table and so denied by default: ${otherDisagree.join(', ')}.` : '') +
      ' Default action kill-process: the jail is meant to kill the process that makes a blocked call. ' +
      "capejail's code passes libseccomp's SCMP_ACT_KILL, which is an alias of SCMP_ACT_KILL_THREAD; sysgate chooses " +
      'kill-process on purpose, because killing one thread leaves the others running, possibly waiting forever on locks ' +
      'the dead thread held or working on state it left half-updated. capejail adds no explicit arch: libseccomp adds the ' +
      'native x86_64 and kills calls from any other arch (foreignArchAction kill-process). Names are taken literally ' +
      '(expandFamilies "none"). Generated by scripts/gen-targets.ts.',
    sources: [
      src(CJ_CODE_FILE, "the allow list of capejail's source code (enableseccomp.c)"),
      src(CJ_DOC1_FILE, 'capejail SYSCALLS.md, allowed and blocked (markdown)'),
      src(CJ_DOC2_FILE, 'capejail SYSCALLS.md, blocked list (rendered page)'),
    ],
    arches: ['x86_64'],
    defaultArch: 'x86_64',
    defaultAction: 'kill-process',
    foreignArchAction: 'kill-process',
    expandFamilies: 'none',
    essentials: true,
    syscalls,
    deny: [...deny.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)),
  };
  const oneVersionOnly = [...blocked.keys()]
    .sort()
    .filter((n) => doc1.blocked.has(n) !== doc2Blocked.has(n) && !doc1.allowed.has(n))
    .map((n) => ({ name: n, file: doc1.blocked.has(n) ? CJ_DOC1_FILE : CJ_DOC2_FILE }));
  return { target, oneVersionOnly, codeCount: code.length, disagreements, unknownDocNames: [...unknownDocNames].sort(), absentOnX86 };
}
