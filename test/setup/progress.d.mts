export function stderrLog(prefix: string): (msg: string) => void;
export function step(what: string, cmd: string, args: string[], opts?: {
  log?: (msg: string) => void; env?: NodeJS.ProcessEnv; cwd?: string; capture?: boolean; quiet?: boolean;
}): Promise<string>;
