/**
 * One analysis of each --sysroot library per `check` run, shared by its worker threads
 * (issue 13: with a cache per worker, two workers analysed every library twice, and the call
 * graph is most of a directory check's time).
 *
 * The pool's owner keeps the store; each worker asks it synchronously (the check of a file is
 * synchronous code): it posts the key on its own MessagePort and sleeps on a shared flag
 * (Atomics.wait) until the owner answers, then reads the answer with receiveMessageOnPort.
 * The answer is the analysis another worker made, or "compute": this worker is the first to
 * ask, makes it, and puts it in the store; a worker asking meanwhile waits for that put.
 * A worker first asks, without waiting, for the libraries its file names (making those nobody
 * is making), and waits only in the walk after: two workers needing the same libraries then
 * make different ones instead of one waiting for the other (waits: 5.3 s -> 0.4 s on /usr/bin).
 * The analysis is plain data (src/check/libraries.ts), kept by the owner as the bytes of its
 * serialization, packed (src/util/pack.ts: /usr/bin's 51 MB of analyses become about 10 MB),
 * off the owner's heap, one copy per library, never turned back into objects there, and
 * turned into objects once in each worker that uses it. A worker that fails while making one
 * gives it up, and the next waiter makes it.
 */
import { deserialize, serialize } from 'node:v8';
import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { pack, unpack } from '../util/pack.ts';
import { internStrings } from './intern.ts';

/** What a worker is given to reach the store (inside WorkerInit). */
export interface StoreLink {
  port: MessagePort;
  /** One Int32: 1 when an answer is waiting on `port`. */
  flag: Int32Array;
}

/** `ifFree`: answer `busy` rather than wait when another worker is making it. */
type Ask = { get: string; ifFree?: true } | { put: string; value: Uint8Array } | { abandon: string };
type Answer = { value: Uint8Array } | { compute: true } | { busy: true };

let link: StoreLink | undefined;
/** The strings of the analyses this thread was given, one copy each (intern.ts). */
const strings = new Map<string, string>();
/** Analyses made in this thread (tests: once per run, shared across workers). */
let madeHere = 0;

/** In a worker: use the run's store from now on. */
export function useStore(l: StoreLink): void {
  link = l;
}

/** Analyses this thread has made so far. */
export function analysesMadeHere(): number {
  return madeHere;
}

function ask(l: StoreLink, m: Ask): Answer {
  l.port.postMessage(m);
  for (;;) {
    const got = receiveMessageOnPort(l.port);
    if (got) {
      Atomics.store(l.flag, 0, 0);
      return got.message as Answer;
    }
    Atomics.wait(l.flag, 0, 0);
  }
}

/**
 * The value for `key`: from the run's store when there is one, else made here by `make`.
 * With `ifFree`, undefined instead of waiting while another worker makes it.
 */
export function shared<T>(key: string, make: () => T): T;
export function shared<T>(key: string, make: () => T, ifFree: true): T | undefined;
export function shared<T>(key: string, make: () => T, ifFree?: true): T | undefined {
  const l = link;
  if (l) {
    const a = ask(l, ifFree ? { get: key, ifFree } : { get: key });
    if ('busy' in a) return undefined;
    if ('value' in a) {
      const v = deserialize(unpack(a.value)) as T;
      internStrings(v, strings);
      return v;
    }
  }
  let v: T;
  try {
    madeHere++;
    v = make();
  } catch (e) {
    l?.port.postMessage({ abandon: key } satisfies Ask);
    throw e;
  }
  if (l) {
    // Its own buffer, moved to the owner rather than copied.
    const value = pack(serialize(v));
    l.port.postMessage({ put: key, value } satisfies Ask, [value.buffer]);
  }
  return v;
}

/** The owner's side: one per run, linked to each worker it starts. */
export class LibraryStore {
  private readonly values = new Map<string, Uint8Array>();
  /** Keys being made, with the workers waiting for them. */
  private readonly making = new Map<string, (() => void)[]>();
  private readonly ports: MessagePort[] = [];
  /** Analyses handed out to be made (each key once unless a maker gave up). */
  analyses = 0;

  /** A link for one worker; pass `link.port` in the transfer list. */
  link(): StoreLink {
    const { port1, port2 } = new MessageChannel();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    /** Keys this worker was told to make and has not put or given up yet. */
    const mine = new Set<string>();
    const settle = (key: string): void => {
      mine.delete(key);
      const waiting = this.making.get(key) ?? [];
      this.making.delete(key);
      for (const w of waiting) w();
    };
    const answer = (a: Answer): void => {
      port1.postMessage(a);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    };
    const get = (key: string, ifFree?: true): void => {
      const value = this.values.get(key);
      if (value) return answer({ value });
      const waiting = this.making.get(key);
      if (waiting && ifFree) return answer({ busy: true });
      if (waiting) return void waiting.push(() => get(key));
      this.making.set(key, []);
      mine.add(key);
      this.analyses++;
      answer({ compute: true });
    };
    port1.on('message', (m: Ask) => {
      if ('get' in m) return get(m.get, m.ifFree);
      if ('put' in m) this.values.set(m.put, m.value);
      settle('put' in m ? m.put : m.abandon);
    });
    // A worker that ends while making an analysis (it crashed, or was terminated) gives it up:
    // the workers waiting for it would otherwise wait forever.
    port1.on('close', () => {
      for (const key of [...mine]) settle(key);
    });
    // The workers' ports must not keep the process alive once the pool is done.
    port1.unref();
    this.ports.push(port1);
    return { port: port2, flag };
  }

  close(): void {
    for (const p of this.ports) p.close();
  }
}
