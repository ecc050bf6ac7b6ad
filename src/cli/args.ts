/** Command-line parsing on top of `arg`, with errors that are InputErrors (exit 2). */
import arg from 'arg';
import { InputError } from '../errors.ts';

export function parseArgs<T extends arg.Spec>(spec: T, argv: string[], command: string): arg.Result<T> {
  try {
    return arg(spec, { argv, permissive: false });
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code?.startsWith('ARG_')) {
      throw new InputError(`${err.message.replace(/^unknown or unexpected option/, 'unknown option')} (see 'sysgate ${command} --help')`);
    }
    throw e;
  }
}

export function requireFlag<V>(value: V | undefined, flag: string, command: string): V {
  if (value === undefined) throw new InputError(`missing ${flag} (see 'sysgate ${command} --help')`);
  return value;
}
