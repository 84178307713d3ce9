/** Types of scripts/build.mjs (plain JavaScript: it runs before anything is compiled). */
export declare const DIST: string;
export declare const STAMP: string;
export declare class BuildError extends Error {}
export declare function readStamp(root: string): { startedAt: number } | undefined;
export declare function newerSource(root: string, since: number): string | undefined;
export declare function tscOf(root: string): string | undefined;
export declare function build(root: string): Promise<void>;
export declare function ensureBuilt(root: string): Promise<void>;
