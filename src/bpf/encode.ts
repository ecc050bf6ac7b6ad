/** struct sock_filter arrays as bytes, in the target's byte order. */
import { InputError } from '../errors.ts';
import { BPF_MAXINSNS, type Endian, type Insn } from './types.ts';

const INSN_SIZE = 8;

export function encodeFilter(insns: readonly Insn[], endian: Endian): Uint8Array {
  const out = new Uint8Array(insns.length * INSN_SIZE);
  const dv = new DataView(out.buffer);
  const le = endian === 'little';
  insns.forEach((ins, i) => {
    const { code, jt, jf, k } = ins;
    if (!isUint(code, 0xffff) || !isUint(jt, 0xff) || !isUint(jf, 0xff) || !Number.isInteger(k) || k < -0x80000000 || k > 0xffffffff) {
      throw new InputError(`instruction ${i} has a field out of range: ${JSON.stringify(ins)}`);
    }
    const o = i * INSN_SIZE;
    dv.setUint16(o, code, le);
    dv.setUint8(o + 2, jt);
    dv.setUint8(o + 3, jf);
    dv.setUint32(o + 4, k >>> 0, le);
  });
  return out;
}

export function decodeFilter(bytes: Uint8Array, endian: Endian): Insn[] {
  if (bytes.length === 0) throw new InputError('filter is empty');
  if (bytes.length % INSN_SIZE !== 0) {
    throw new InputError(`filter length ${bytes.length} is not a multiple of ${INSN_SIZE} bytes (struct sock_filter)`);
  }
  const n = bytes.length / INSN_SIZE;
  if (n > BPF_MAXINSNS) throw new InputError(`filter has ${n} instructions; the kernel accepts at most ${BPF_MAXINSNS}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = endian === 'little';
  const insns: Insn[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * INSN_SIZE;
    insns.push({ code: dv.getUint16(o, le), jt: dv.getUint8(o + 2), jf: dv.getUint8(o + 3), k: dv.getUint32(o + 4, le) });
  }
  return insns;
}

function isUint(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}
