/**
 * Targets and groups that ship with sysgate, bundled into the CLI so that loading them costs
 * no file reads and no schema compilation (the build and the tests validate them).
 */
import codesafe5 from '../../targets/codesafe5.json' with { type: 'json' };
import enclave from '../../targets/enclave-x86_64.json' with { type: 'json' };
import systemd from '../../targets/groups/systemd.json' with { type: 'json' };
import type { RawGroups } from './raw.ts';

export const SHIPPED_TARGETS: Readonly<Record<string, unknown>> = {
  codesafe5,
  'enclave-x86_64': enclave,
};

export const SHIPPED_GROUPS: RawGroups['groups'] = (systemd as RawGroups).groups;
