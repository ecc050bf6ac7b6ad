/** Measured start-up calls of an OCI runtime (data: runtimes.generated.ts). */
export interface MeasuredRuntime {
  runtime: 'runc' | 'crun';
  /** First line of `<runtime> --version`. */
  version: string;
  /** Debian package and version the measurement ran against. */
  debianPackage: string;
  arch: 'x86_64';
  runs: number;
  command: string;
  /** The calls the runtime makes under the filter, sorted by name, with how often each was seen. */
  calls: readonly { name: string; seen: number }[];
}
