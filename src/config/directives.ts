// The keywords of a network file (docs/CONFIG.md, "Directives").
export const DIRECTIVES = ['name', 'subnet', 'workbit', 'namespace', 'boot', 'trust', 'peer', 'hosts', 'dns', 'metrics', 'listen', 'proxy'] as const;
export type Directive = (typeof DIRECTIVES)[number];
