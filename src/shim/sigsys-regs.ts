/**
 * The --sigsys handler's register access as C, from the arch records: SG_ARG and SG_SET_RET under
 * each shim arch's guard (ArchInfo.shim.sigsys, in its own order: the guards overlap), and the
 * result helper of the conventions that report an error in a condition bit (ArchInfo.syscall.error
 * 'summary-overflow': PowerPC's CR0.SO), once per raw-call guard. templates/shim/sigsys.c.tmpl
 * holds the C text.
 */
import { cComment } from '../util/c-syntax.ts';
import { requireSection, template } from './template.ts';
import { shimArches } from './raw-call.ts';

/** The `#if` chain defining SG_ARG(uc, i) and SG_SET_RET(uc, r) for every shim arch. */
export function sigsysRegisters(): string {
  const arches = shimArches().sort((a, b) => a.shim.sigsys.order - b.shim.sigsys.order);
  const parts = arches.map((a, i) => {
    const s = a.shim.sigsys;
    const note = s.note ? `/* ${cComment(s.note)} */\n` : '';
    return `${i === 0 ? '#if' : '#elif'} ${s.guard}\n${note}#define SG_ARG(uc, i) ${s.arg}\n#define SG_SET_RET(uc, r) ${s.setRet}`;
  });
  return `${parts.join('\n')}\n#else\n${requireSection(template('sigsys'), 'text', 'none')}\n#endif`;
}

/** The summary-overflow result store under the raw-call guard of each arch whose convention needs it. */
export function sigsysHelpers(): string {
  const guards = [...new Set(shimArches().flatMap((a) => (a.syscall.error === 'summary-overflow' ? [a.shim.rawGuard] : [])))];
  const helper = requireSection(template('sigsys'), 'text', 'summary-overflow');
  return guards.map((g) => `#if ${g}\n${helper}\n#endif`).join('\n\n');
}
