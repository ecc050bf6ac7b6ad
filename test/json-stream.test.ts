/** writeJson streams what json() would print, byte for byte (reports too long for one string). */
import assert from 'node:assert/strict';
import { json, writeJson, writeJsonBytes, writeJsonTexts, type Io } from '../src/cli/io.ts';
import { jsonBytes, jsonText } from '../src/util/json-text.ts';
import { packJson, unpackJson, unpackJsonBytes } from '../src/check/report-json.ts';

function capture(): { io: Io; text: () => string; writes: () => number } {
  let text = '';
  let writes = 0;
  const io = {
    out: (t: string) => {
      text += t;
      writes++;
    },
    err: () => {},
    color: false,
    isTTY: false,
    cwd: '/',
    env: {},
  } as unknown as Io;
  return { io, text: () => text, writes: () => writes };
}

function streamed(value: unknown, depth?: number): { text: string; writes: number } {
  let text = '';
  let writes = 0;
  const io = {
    out: (t: string) => {
      text += t;
      writes++;
    },
    err: () => {},
    color: false,
    isTTY: false,
    cwd: '/',
    env: {},
  } as unknown as Io;
  writeJson(io, value, depth);
  return { text, writes };
}

describe('writeJson', () => {
  it('gives the bytes json() gives, at every depth', () => {
    const values: unknown[] = [
      null,
      1,
      'x',
      [],
      {},
      [[]],
      { a: {} },
      [{ a: 1, b: undefined, c: [1, 'two', null, undefined], d: { e: { f: [{ g: 1n }] } }, h: () => 1 }],
      {
        file: 'a',
        nested: [
          [1, 2],
          [3, { x: 'y\nz' }],
        ],
        when: new Date(0),
        big: 2n ** 70n,
      },
    ];
    for (const v of values)
      for (const depth of [0, 1, 2, 3, 5, 9]) assert.equal(streamed(v, depth).text, json(v), `${JSON.stringify(json(v))} at depth ${depth}`);
  });

  it('jsonBytes is the UTF-8 of jsonText, as an element and alone', () => {
    const values: unknown[] = [null, 1, 'é\u{1f600}', '\ud800', [], {}, { a: [1, { b: 'x\ny' }], big: 2n ** 70n }, new Date(0), undefined];
    for (const v of values)
      for (const indent of ['', '  ']) {
        const text = jsonText(v, indent);
        assert.ok(jsonBytes(v, indent).equals(Buffer.from(text, 'utf8')), `${text} with indent ${JSON.stringify(indent)}`);
      }
  });

  it("writeJsonTexts of the elements' jsonText gives json() of the array (check --json: workers make the texts)", () => {
    const elements: unknown[] = [null, 1, 'a\nb', [], {}, [1, [2, {}]], { a: [1, { b: 'x\ny' }], big: 2n ** 70n, u: undefined }, new Date(0)];
    for (let n = 0; n <= elements.length; n++) {
      const list = elements.slice(0, n);
      const c = capture();
      const texts = list.map((v) => jsonText(v, '  '));
      writeJsonTexts(c.io, texts.length, (i) => texts[i]!, false);
      assert.equal(c.text(), json(list), `first ${n}`);
    }
    // One file named: the report itself, not an array of one.
    for (const v of elements) {
      const c = capture();
      writeJsonTexts(c.io, 1, () => jsonText(v), true);
      assert.equal(c.text(), json(v));
    }
  });

  it('writeJsonBytes of packed texts writes the bytes writeJsonTexts writes (raw to outBytes; decoded when the Io takes text only)', () => {
    const elements: unknown[] = [null, 'caf\u00e9 \u{1f600} x\ud800y', { a: [1, { b: 'x\ny' }], big: 2n ** 70n }, []];
    const cases: [unknown[], boolean][] = [
      [[], false],
      [elements.slice(0, 1), false],
      [elements, false],
      ...elements.map((v): [unknown[], boolean] => [[v], true]),
    ];
    for (const [list, single] of cases) {
      const texts = list.map((v) => jsonText(v, single ? '' : '  '));
      const want = capture();
      writeJsonTexts(want.io, texts.length, (i) => texts[i]!, single);
      const packed = texts.map(packJson);
      const chunks: Uint8Array[] = [];
      const raw = capture();
      raw.io.outBytes = (b) => void chunks.push(Buffer.from(b));
      writeJsonBytes(raw.io, packed.length, (i) => unpackJsonBytes(packed[i]!), single);
      const got = Buffer.concat([Buffer.from(raw.text()), ...chunks]);
      assert.ok(!(raw.text() && chunks.length && list.length), 'one stream: text or bytes, never both interleaved');
      assert.deepEqual(got, Buffer.from(want.text(), 'utf8'), `case ${cases.findIndex((c) => c[0] === list)}`);
      const decoded = capture();
      writeJsonBytes(decoded.io, packed.length, (i) => unpackJsonBytes(packed[i]!), single);
      assert.equal(decoded.text(), want.text());
    }
  });

  it('packJson gives back the exact text: non-ASCII names, escaped lone surrogates, empty, large', () => {
    const texts = [
      '',
      jsonText({ file: 'bin/caf\u00e9-\u{1f600}', bad: 'x\ud800y' }, '  '),
      jsonText(
        Array.from({ length: 5000 }, (_, i) => ({ i, via: 'import' })),
        '  ',
      ),
    ];
    for (const t of texts) {
      const p = packJson(t);
      assert.equal(p.byteOffset, 0);
      assert.equal(p.buffer.byteLength, p.byteLength, 'its own buffer, so it can be transferred');
      assert.equal(unpackJson(p), t);
    }
    assert.ok(packJson(texts[2]!).byteLength * 20 < texts[2]!.length, 'repetitive reports pack small');
  });

  it("writes a result past V8's longest string in pieces", () => {
    // 600 reports of 1 MiB each: JSON.stringify of the whole would throw RangeError.
    const big = 'x'.repeat(1 << 20);
    const reports = Array.from({ length: 600 }, (_, i) => ({ file: `f${i}`, blob: big }));
    assert.throws(() => json(reports), RangeError);
    let bytes = 0;
    let writes = 0;
    let tail = '';
    const io = {
      out: (t: string) => {
        bytes += t.length;
        writes++;
        tail = (tail + t).slice(-20);
      },
      err: () => {},
      color: false,
      isTTY: false,
      cwd: '/',
      env: {},
    } as unknown as Io;
    writeJson(io, reports);
    assert.ok(bytes > 600 * (1 << 20) && writes >= 600);
    assert.ok(tail.endsWith('"\n  }\n]\n'), JSON.stringify(tail));
  });
});
