/** The operations the bridge's patches use (RFC 6902, PROTOCOL.md §3). */
export type PatchOperation = { op: 'add'; path: string; value: unknown } | { op: 'remove'; path: string } | { op: 'replace'; path: string; value: unknown };
