export function cacheDir(): string;
export function toolsDir(): string;
export function which(name: string): string | undefined;
export function tool(name: string): string | undefined;
export function chromiumPath(): string | undefined;
