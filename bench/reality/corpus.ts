/**
 * The reality suite's corpus, as data: real Debian programs (fetched by
 * scripts/reality/fetch.sh) and small programs built here (test/fixtures/reality/*.c), each
 * with workloads that exercise what `check` names (randomness, pipes, threads, file metadata,
 * time, compression, sqlite, TLS-library randomness...). A workload runs in a fresh scratch
 * directory holding the files of WORKDIR_FILES; it "worked" when the program exits 0 and its
 * stdout matches `expect`. No workload touches the network (curl reads a file:// URL).
 */
import { realpathSync } from 'node:fs';

export interface Workload {
  /** argv after the program itself */
  args: string[];
  /** stdin text (default: none, stdin is /dev/null) */
  stdin?: string;
  /** what stdout must contain (a string) or match (a RegExp) */
  expect: string | RegExp;
  /** the exit status that means it worked (default 0; diff says "files differ" with 1) */
  exit?: number;
}

export interface DebianProgram {
  kind: 'debian';
  id: string;
  /** the Debian package that ships it (its lib* dependencies are fetched along) */
  package: string;
  /** path inside the extracted root */
  binary: string;
  workloads: Workload[];
  /** Debian arch of the binary (default amd64); armhf ones run in a real ARM kernel (sysgate run's VM). */
  arch?: 'amd64' | 'armhf';
}

export interface FixtureProgram {
  kind: 'fixture';
  id: string;
  /** test/fixtures/reality/<source>.c */
  source: string;
  build: 'glibc-static' | 'glibc-static-stripped' | 'musl-static';
  workloads: Workload[];
}

/** A binary already on this machine (the short CI form uses these: no download). */
export interface HostProgram {
  kind: 'host';
  id: string;
  path: string;
  workloads: Workload[];
}

export type Program = DebianProgram | FixtureProgram | HostProgram;

/** Every workload's scratch directory starts with these files. */
export const WORKDIR_FILES: Record<string, string> = {
  'hello.txt': 'hello reality\n',
  'lines.txt': 'pear\napple\nfig\nbanana\napple\n',
  'data.json': '{"name":"sysgate","targets":["codesafe5","enclave-x86_64"],"n":3}\n',
  'sub/inner.txt': 'inner file\n',
  'query.sql': "CREATE TABLE t(a INTEGER, b TEXT);\nINSERT INTO t VALUES (1,'one'),(2,'two'),(3,'three');\nSELECT 'rows=' || count(*) FROM t;\n",
};

const W = (args: string[], expect: string | RegExp, stdin?: string, exit?: number): Workload => ({
  args,
  expect,
  ...(stdin === undefined ? {} : { stdin }),
  ...(exit === undefined ? {} : { exit }),
});

export const DEBIAN: DebianProgram[] = [
  { kind: 'debian', id: 'ls', package: 'coreutils', binary: 'bin/ls', workloads: [W(['-la', '.', 'sub'], 'hello.txt')] },
  { kind: 'debian', id: 'cat', package: 'coreutils', binary: 'bin/cat', workloads: [W(['hello.txt', 'sub/inner.txt'], 'hello reality\ninner file')] },
  { kind: 'debian', id: 'cp', package: 'coreutils', binary: 'bin/cp', workloads: [W(['-a', '-v', 'hello.txt', 'copy.txt'], 'copy.txt')] },
  {
    kind: 'debian',
    id: 'date',
    package: 'coreutils',
    binary: 'bin/date',
    workloads: [W(['-u', '-d', '@0', '+%Y-%m-%d'], '1970-01-01'), W(['+%s'], /^\d{9,}\n$/)],
  },
  {
    kind: 'debian',
    id: 'sort',
    package: 'coreutils',
    binary: 'usr/bin/sort',
    workloads: [W(['-u', 'lines.txt'], 'apple\nbanana\nfig\npear\n'), W(['--parallel=2', '-S', '1M', '-R', 'lines.txt'], 'fig')],
  },
  { kind: 'debian', id: 'shuf', package: 'coreutils', binary: 'usr/bin/shuf', workloads: [W(['-i', '1-5'], /^([1-5]\n){5}$/)] },
  { kind: 'debian', id: 'mktemp', package: 'coreutils', binary: 'bin/mktemp', workloads: [W(['-p', '.', 'tmp.XXXXXX'], 'tmp.')] },
  { kind: 'debian', id: 'stat', package: 'coreutils', binary: 'usr/bin/stat', workloads: [W(['-c', '%n %s', 'hello.txt'], 'hello.txt 14')] },
  { kind: 'debian', id: 'sha256sum', package: 'coreutils', binary: 'usr/bin/sha256sum', workloads: [W(['hello.txt'], /^[0-9a-f]{64} {2}hello\.txt$/m)] },
  {
    kind: 'debian',
    id: 'grep',
    package: 'grep',
    binary: 'bin/grep',
    workloads: [W(['-rn', 'inner', '.'], 'inner file'), W(['-P', 'a(p)+le', 'lines.txt'], 'apple')],
  },
  {
    kind: 'debian',
    id: 'sed',
    package: 'sed',
    binary: 'bin/sed',
    workloads: [W(['-e', 's/reality/world/', 'hello.txt'], 'hello world'), W(['-i', 's/pear/PEAR/', 'lines.txt'], '')],
  },
  { kind: 'debian', id: 'tar', package: 'tar', binary: 'bin/tar', workloads: [W(['-cvf', 'out.tar', 'hello.txt', 'sub'], 'sub/inner.txt')] },
  { kind: 'debian', id: 'gzip', package: 'gzip', binary: 'bin/gzip', workloads: [W(['-c', 'hello.txt'], '\x1f')] },
  { kind: 'debian', id: 'xz', package: 'xz-utils', binary: 'usr/bin/xz', workloads: [W(['-T2', '-c', 'lines.txt'], '7zXZ')] },
  {
    kind: 'debian',
    id: 'find',
    package: 'findutils',
    binary: 'usr/bin/find',
    workloads: [W(['.', '-name', '*.txt', '-newer', 'data.json', '-o', '-type', 'f', '-print'], 'inner.txt')],
  },
  {
    kind: 'debian',
    id: 'diff',
    package: 'diffutils',
    binary: 'usr/bin/diff',
    workloads: [W(['-u', 'hello.txt', 'sub/inner.txt'], '+inner file', undefined, 1)],
  },
  { kind: 'debian', id: 'jq', package: 'jq', binary: 'usr/bin/jq', workloads: [W(['-c', '.targets | length', 'data.json'], '2')] },
  { kind: 'debian', id: 'sqlite3', package: 'sqlite3', binary: 'usr/bin/sqlite3', workloads: [W([':memory:', '.read query.sql'], 'rows=3')] },
  {
    kind: 'debian',
    id: 'openssl-rand',
    package: 'openssl',
    binary: 'usr/bin/openssl',
    workloads: [W(['rand', '-hex', '16'], /^[0-9a-f]{32}$/m), W(['dgst', '-sha256', 'hello.txt'], 'SHA2-256(hello.txt)=')],
  },
  {
    kind: 'debian',
    id: 'curl-file',
    package: 'curl',
    binary: 'usr/bin/curl',
    workloads: [W(['-s', 'file:///etc/hostname', '-o', 'got.txt', '-w', '%{http_code}|%{size_download}'], /^000\|\d+$/)],
  },
  { kind: 'debian', id: 'bzip2', package: 'bzip2', binary: 'bin/bzip2', workloads: [W(['-c', 'lines.txt'], 'BZh')] },
  {
    kind: 'debian',
    id: 'python3',
    package: 'python3.11-minimal',
    binary: 'usr/bin/python3.11',
    workloads: [W(['-S', '-c', 'import os,sys; print(len(os.urandom(8)), sys.version_info[0])'], '8 3')],
  },
];

const FIXTURE_SOURCES: [string, string][] = [
  ['random', 'random ok'],
  ['pipes', 'pipe ok'],
  ['eventfd', 'eventfd ok'],
  ['threads', 'threads ok'],
  ['filemeta', 'meta ok'],
];

export const FIXTURES: FixtureProgram[] = FIXTURE_SOURCES.flatMap(([source, ok]) =>
  (['glibc-static', 'glibc-static-stripped', 'musl-static'] as const).map((build) => ({
    kind: 'fixture' as const,
    id: `${source}-${build}`,
    source,
    build,
    workloads: [W([], ok)],
  })),
);

/**
 * The short form's programs already on this machine: coreutils from the host's Debian, and the
 * node running the suite (OpenSSL 3 and node::Start linked in, or libnode.so.108 loaded: its
 * start-up aborts when getrandom fails).
 */
export const HOST: HostProgram[] = [
  { kind: 'host', id: 'host-ls', path: '/usr/bin/ls', workloads: [W(['-la', '.', 'sub'], 'hello.txt')] },
  { kind: 'host', id: 'host-cat', path: '/usr/bin/cat', workloads: [W(['hello.txt'], 'hello reality')] },
  { kind: 'host', id: 'host-date', path: '/usr/bin/date', workloads: [W(['-u', '-d', '@0', '+%Y-%m-%d'], '1970-01-01')] },
  { kind: 'host', id: 'host-node', path: realpathSync(process.execPath), workloads: [W(['-e', 'console.log(6 * 7)'], '42')] },
];

/** The policies the suite measures: enforced in this machine's x86_64 kernel, or (`arch: 'arm'`) in a real ARM kernel. */
export interface PolicyCase {
  target: string;
  firmware?: string;
  label: string;
  arch?: 'arm';
}
export const POLICIES: PolicyCase[] = [
  { target: 'codesafe5', firmware: '13.5', label: 'codesafe5 13.5 (x86_64 host emulation)' },
  { target: 'codesafe5', firmware: '13.7', label: 'codesafe5 13.7 (x86_64 host emulation)' },
  { target: 'enclave-x86_64', label: 'enclave-x86_64' },
];

/**
 * The same Debian programs for armhf, run by `sysgate run` in a real ARM kernel (qemu-system-arm)
 * under the ARM translation of each policy. Only programs whose workloads name plain files (the
 * VM copies the files a run's arguments name; directories and files named inside other
 * arguments, such as sqlite3's `.read`, are not copied).
 */
export const ARMHF_IDS = ['cat', 'date', 'sort', 'sha256sum', 'sed', 'gzip', 'xz', 'jq', 'openssl-rand'];
export const ARMHF: DebianProgram[] = DEBIAN.filter((d) => ARMHF_IDS.includes(d.id)).map((d) => ({ ...d, id: `${d.id}.armhf`, arch: 'armhf' as const }));
/** Policies for ARM programs: the enclave is x86_64 only. */
export const ARM_POLICIES: PolicyCase[] = POLICIES.filter((pc) => pc.target !== 'enclave-x86_64').map((pc) => ({
  ...pc,
  arch: 'arm' as const,
  label: `${pc.target} ${pc.firmware} (ARM, real ARM kernel)`,
}));
