/** The shape of target and group JSON files after schema validation (schemas/*.schema.json). */

export type RawU64 = number | string;

export interface RawArgCondition {
  index: number;
  op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'masked-eq';
  value: RawU64;
  mask?: RawU64;
  width?: 32 | 64;
  comment?: string;
}

interface RawCommon {
  since?: string;
  until?: string;
  category?: string;
  note?: string;
  action?: string;
}

export interface RawSyscallEntry extends RawCommon {
  name: string;
  args?: RawArgCondition[];
  limit?: string;
  documented?: Record<string, number>;
}

export interface RawGroupEntry extends RawCommon {
  group: string;
}

export interface RawTarget {
  id: string;
  title: string;
  description?: string;
  sources?: string[];
  extends?: string;
  arches?: string[];
  defaultArch?: string;
  firmware?: {
    versions: string[];
    defaultAction: { range: string; action: string; note?: string }[];
  };
  defaultAction?: string;
  foreignArchAction?: string;
  expandFamilies?: 'none' | 'absent' | 'all' | 'operations';
  abi?: string;
  essentials?: boolean;
  groups?: Record<string, string[]>;
  syscalls: (RawSyscallEntry | RawGroupEntry)[];
  deny?: { name: string; reason: string; fix?: string }[];
  history?: { name: string; note: string }[];
  remove?: string[];
}

export interface RawGroups {
  source: string;
  groups: Record<string, { description: string; syscalls: string[] }>;
}
